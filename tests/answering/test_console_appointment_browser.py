"""Booking during a call, in Chromium on a phone-sized screen (issue #17): Ana takes a call for
Charlie's clinic, reaches the appointment step, chooses the type and a slot (in the clinic's
own time), fills the intake — which survives a reload — and books with the keyboard; the
appointment exists with the caller's answers — and appears, without a reload, in the clinic's
own week view open in the portal on another screen. Then a second call in a row, booked the
same way, is not offered the first caller's time."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from django.utils import timezone
from django_tenants.utils import schema_context

from answering.acd.models import AgentPresence, CallSession
from answering.models import AnsweringSettings, CallRecord, Message, Script
from calendars.models import Appointment, AppointmentType, Calendar, WorkingHours
from calendars.selectors import appointment_slots
from tests.answering.conftest import _in_thread, _open_console
from tests.conftest import CHARLIE_HOST, until
from tests.portal.test_calendars_browser import _log_in
from tests.processes import ARTIFACTS

pytestmark = pytest.mark.processes

CLINIC_SCRIPT = {
    "key": "clinic_booking", "name": "Appointments", "used_for": ["open:1"],
    "steps": [
        {"key": "contact", "say": {"en": "May I have your name?", "es": "¿Me dice su nombre?"},
         "fields": [{"name": "caller_name", "label": "Caller's name", "type": "text", "required": True}],
         "next": "book"},
        {"key": "book", "kind": "appointment", "appointment_types": ["New patient", "Follow-up"],
         "say": {"en": "Let me find you a time.", "es": "Le busco un horario."},
         "end": {"action": "message", "urgency": "normal", "category": "Appointment"}},
    ],
}




@pytest.fixture
def clinic(world, django_db_blocker):
    """Charlie's clinic: Dr. Lopez (Chicago), open all day, "New patient" and "Follow-up", and
    the booking script; a wrap-up of one second. Committed for the server; removed afterwards."""
    from answering.scripts.services import script_import_json

    with django_db_blocker.unblock(), schema_context("charlieclinic"):
        lopez = Calendar.objects.create(name="Dr. Lopez", time_zone="America/Chicago")
        WorkingHours.objects.bulk_create([WorkingHours(calendar=lopez, weekday=d, start=dt.time(0),
                                                       end=dt.time(23, 59, 59)) for d in range(7)])
        for name, minutes, intake in (
                ("New patient", 45, [{"name": "date_of_birth", "label": "Date of birth", "type": "date",
                                      "required": True}]),
                ("Follow-up", 30, [{"name": "reason", "label": "What is it about", "type": "text",
                                    "required": True}])):
            type_ = AppointmentType.objects.create(name=name, duration_minutes=minutes, step_minutes=60,
                                                   min_notice_minutes=0, horizon_days=14, intake_fields=intake)
            type_.calendars.add(lopez)
        script_import_json(data=CLINIC_SCRIPT)
        wrap_before = AnsweringSettings.objects.get().wrap_up_seconds
        AnsweringSettings.objects.update(wrap_up_seconds=1)
    made: list[CallSession] = []
    yield made
    with django_db_blocker.unblock():
        with schema_context("charlieclinic"):
            sids = [c.call_sid for c in made]
            Message.objects.filter(call_sid__in=sids).delete()
            CallRecord.objects.filter(call_sid__in=sids).delete()
            Appointment.objects.filter(calendar=lopez).delete()
            AppointmentType.objects.filter(name__in=["New patient", "Follow-up"]).delete()
            lopez.delete()
            Script.objects.filter(key="clinic_booking").delete()
            AnsweringSettings.objects.update(wrap_up_seconds=wrap_before)
        CallSession.objects.filter(pk__in=[c.pk for c in made]).delete()
        AgentPresence.objects.filter(agent=world.ana).delete()


def _queue(world, django_db_blocker, made, caller: str) -> CallSession:
    from answering.acd import tasks

    with django_db_blocker.unblock():
        call = CallSession.objects.create(
            call_sid="CA" + uuid.uuid4().hex, client=world.charlies, to_number="+13125550113", from_number=caller,
            state=CallSession.State.QUEUED, queued_at=timezone.now(), menu_choice="open:1")
    made.append(call)
    tasks.acd_dispatch_task.delay()
    return call


def _take_and_book(page, world, django_db_blocker, made, *, caller: str, name: str, reason: str,
                   reload_midway: bool = False) -> tuple[CallSession, str]:
    from answering.acd import services as acd

    call = _queue(world, django_db_blocker, made, caller)
    page.locator("#offer").wait_for(state="visible", timeout=15000)
    page.keyboard.press("a")
    page.locator("#script-say").filter(has_text="May I have your name?").wait_for(timeout=10000)
    page.locator("#f-caller_name").fill(name)
    page.keyboard.press("Enter")
    page.locator("#script-say").filter(has_text="Let me find you a time.").wait_for()
    # Two types: the first is shown; the caller comes for a follow-up.
    page.locator("#appt-types button", has_text="New patient (45 min)").wait_for()
    page.locator("#appt-slots button").first.wait_for()
    page.locator("#appt-types button", has_text="Follow-up (30 min)").click()
    page.locator("#appt-types button[aria-pressed=true]", has_text="Follow-up").wait_for()
    assert "America/Chicago" in page.locator("#appt-zone").inner_text()
    first = page.locator("#appt-slots button").first
    first.wait_for()
    label = first.inner_text().split("\n")[0]
    # Keyboard: the first slot has the focus once the slots are drawn.
    first.focus()
    page.keyboard.press("Enter")
    page.locator("#appt-held").filter(has_text="Held for the caller").wait_for()
    assert page.locator("#appt-slots button").first.get_attribute("aria-pressed") == "true"
    # The intake: the name the script took, the caller's number; the reason left to type.
    assert page.locator("#appt-f-name").input_value() == name
    assert page.locator("#appt-f-phone").input_value() == caller
    page.keyboard.type(reason)  # focus went to the first empty answer: "What is it about"
    assert page.locator("#appt-f-answers-reason").input_value() == reason
    if reload_midway:
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "console-appointment-held.png"), full_page=True)
        with django_db_blocker.unblock(), schema_context("charlieclinic"):
            until(lambda: CallRecord.objects.get(call_sid=call.call_sid).draft.get("answers", {})
                  .get("@book.answers.reason") == reason, "the intake was never drafted", timeout=10)
        page.reload()
        page.locator("#appt-held").filter(has_text="Held for the caller").wait_for(timeout=10000)
        assert page.locator("#appt-f-answers-reason").input_value() == reason  # no lost work
        assert page.locator("#appt-types button[aria-pressed=true]").inner_text().startswith("Follow-up")
        page.locator("#appt-f-answers-reason").focus()
    page.keyboard.press("Enter")  # Enter in the details books
    page.locator("#appt-booked").filter(has_text="Follow-up with Dr. Lopez").wait_for()
    assert label.split(" · ")[1].split(" ")[0] in page.locator("#appt-booked-text").inner_text()
    # On a phone the step fits the screen: nothing to scroll sideways.
    assert page.evaluate("() => { const a = document.getElementById('appt');"
                         " return a.clientWidth > 0 && a.scrollWidth <= a.clientWidth; }")
    # The caller says goodbye and hangs up; the summary stays, the message is saved, finish.
    _in_thread(django_db_blocker, lambda: acd.call_status_update(
        session=CallSession.objects.get(pk=call.pk), status="completed", sequence=9))
    page.locator("#call-notice").filter(has_text="Caller hung up").wait_for()
    assert page.locator("#appt-booked").is_visible()
    page.locator("#script-next").click()
    page.locator("#message-take").wait_for(state="visible")
    page.locator("#message-take").click()
    page.locator("#finish").wait_for(state="visible")
    page.keyboard.press("f")
    page.locator("#status").filter(has_text="available").wait_for(timeout=15000)
    return call, label


def test_an_agent_books_on_the_call_twice_in_a_row(world, asgi_server, celery_worker, browser, django_db_blocker,
                                                    clinic):
    from answering.acd import consoles

    consoles.forget(world.ana.pk)
    base = f"http://localhost:{asgi_server}"
    page = browser.new_page(viewport={"width": 375, "height": 800})  # a phone
    desk_context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        # The clinic's front desk watches every calendar's day in the portal, on its own host.
        # The day of the first free follow-up, which Ana will book (the first slot she is shown).
        with django_db_blocker.unblock(), schema_context("charlieclinic"):
            first_free = appointment_slots(AppointmentType.objects.get(name="Follow-up"), count=1)[0]
        day = first_free.local_start.date().isoformat()
        desk = _log_in(desk_context, f"http://{CHARLIE_HOST}:{asgi_server}", "charlie@charlies.test",
                       f"/schedule/{first_free.calendar_id}/?view=week&date={day}")  # the doctor's week
        desk.evaluate("window.__notReloaded = true")
        _open_console(page, base, "ana@switchboard.test")
        page.keyboard.press("1")
        page.locator("#status").filter(has_text="available").wait_for()

        one, first_label = _take_and_book(page, world, django_db_blocker, clinic, caller="+13125550177",
                                          name="Rosa Diaz", reason="Knee check", reload_midway=True)
        with django_db_blocker.unblock(), schema_context("charlieclinic"):
            booked = Appointment.objects.get(call_sid=one.call_sid)
        assert booked.start == first_free.start
        desk.locator(f'a.cal-appt[data-appointment="{booked.pk}"]').wait_for(timeout=10000)
        assert "Rosa Diaz" in desk.locator(f'a.cal-appt[data-appointment="{booked.pk}"]').inner_text()
        assert desk.evaluate("window.__notReloaded") is True  # the agent's booking came live
        with django_db_blocker.unblock(), schema_context("charlieclinic"):
            assert booked.status == "booked" and booked.type.name == "Follow-up"
            assert booked.name == "Rosa Diaz" and str(booked.phone) == "+13125550177"
            assert booked.answers == {"reason": "Knee check"} and booked.booked_by == world.ana.email
            assert Message.objects.get(call_sid=one.call_sid).fields == {"caller_name": "Rosa Diaz"}

        two, second_label = _take_and_book(page, world, django_db_blocker, clinic, caller="+13125550178",
                                           name="Sam Ortiz", reason="Blood test results")
        assert second_label != first_label  # the first caller's time is nobody else's
        with django_db_blocker.unblock(), schema_context("charlieclinic"):
            second = Appointment.objects.get(call_sid=two.call_sid)
            assert second.name == "Sam Ortiz" and second.answers == {"reason": "Blood test results"}
            assert Appointment.objects.filter(status="booked").count() == 2
            assert not Appointment.objects.filter(status="held").exists()
    except Exception:
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "console-appointment-failed.png"), full_page=True)
        raise
    finally:
        page.close()
        desk_context.close()
