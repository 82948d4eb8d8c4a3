"""Booking on a call (issue #17): the script step of kind "appointment" over the agent's
WebSocket — the slots offered in the calendar's own time, a hold nobody else is offered, the
booking with the caller's answers and the call's SID (exactly once), "just taken" with the next
free slots, and a caller who hangs up leaving nothing held and nothing half-booked. And the
script side: an appointment step naming a type the client does not have is refused, in words."""

from __future__ import annotations

import datetime as dt
import json
import zoneinfo

import pytest
from django.utils import timezone
from django_tenants.utils import schema_context

from answering.acd.models import CallSession
from answering.models import CallRecord, Script
from answering.scripts.definition import script_normalize
from answering.scripts.services import script_export_json, script_import_json
from answering.scripts.validation import ScriptInvalid, script_validate
from calendars.models import Appointment, AppointmentType, Calendar, WorkingHours
from tests.answering.conftest import _console, _until

TYPE = "Estimate visit"
INTAKE = [{"name": "address", "label": "Service address", "type": "address", "required": True},
          {"name": "problem", "label": "What is wrong", "type": "text", "required": False}]


def booking_script(**changes) -> dict:
    doc = {
        "key": "booking", "name": "Booking", "used_for": ["open:7"],
        "steps": [
            {"key": "contact", "say": {"en": "May I have your name?"},
             "fields": [{"name": "caller_name", "label": "Name", "type": "text", "required": True}],
             "next": "visit"},
            {"key": "visit", "kind": "appointment", "appointment_types": [TYPE],
             "say": {"en": "Which of these times suits you?"}, "end": {"action": "log"}},
        ],
    }
    doc.update(changes)
    return doc


def _ask(ws, message: dict, *types: str) -> dict:
    ws.send(json.dumps(message))
    return _until(ws, lambda m: m["type"] in types)


@pytest.fixture
def calendar_world(world, django_db_blocker):
    """Bob's estimator Tom (Chicago time), free every day, every hour, for a one-hour visit;
    Bob's booking script offering it. Committed for the server; removed afterwards."""
    with django_db_blocker.unblock(), schema_context("bobsplumbing"):
        tom = Calendar.objects.create(name="Tom (estimates)", time_zone="America/Chicago")
        WorkingHours.objects.bulk_create([WorkingHours(calendar=tom, weekday=d, start=dt.time(0), end=dt.time(23, 59, 59))
                                          for d in range(7)])
        type_ = AppointmentType.objects.create(name=TYPE, duration_minutes=60, step_minutes=60, min_notice_minutes=0,
                                               horizon_days=14, intake_fields=INTAKE)
        type_.calendars.add(tom)
        script_import_json(data=booking_script())
    yield type_, tom
    with django_db_blocker.unblock(), schema_context("bobsplumbing"):
        Appointment.objects.filter(calendar=tom).delete()
        type_.delete()
        tom.delete()
        Script.objects.filter(key="booking").delete()


@pytest.fixture
def calls(world, clean, calendar_world, django_db_blocker):
    """Two live calls of Bob's on the booking script: Ben's (from +12125550042) and Ana's."""
    made = []
    for agent in (world.ben, world.ana):
        call = clean(world.bobs)
        with django_db_blocker.unblock():
            CallSession.objects.filter(pk=call.pk).update(state=CallSession.State.CONNECTED, agent=agent,
                                                         answered_at=timezone.now(), menu_choice="open:7")
            with schema_context("bobsplumbing"):
                CallRecord.objects.create(call_sid=call.call_sid, caller=call.from_number,
                                          number_dialed=call.to_number, arrived_at=timezone.now())
            call.refresh_from_db()
        made.append(call)
    return made


def _slots(ws, call, **extra) -> dict:
    return _ask(ws, {"action": "appointment_slots", "call": call.pk, "step": "visit", **extra},
                "appointment_slots", "appointment_error")


def _hold(ws, call, slot) -> dict:
    return _ask(ws, {"action": "appointment_hold", "call": call.pk, "step": "visit", "type": TYPE,
                     "calendar": slot["calendar"], "start": slot["start"]},
                "appointment_held", "appointment_taken", "appointment_error")


def _book(ws, call, hold_id, **details) -> dict:
    return _ask(ws, {"action": "appointment_book", "call": call.pk, "step": "visit", "hold": hold_id, **details},
                "appointment_booked", "appointment_errors", "appointment_error", "appointment_taken")


@pytest.mark.processes
def test_the_next_free_slots_are_offered_in_the_calendars_own_time(world, asgi_server, calls):
    ben_call, _ = calls
    with _console(asgi_server, world.sessions["ben@switchboard.test"]) as ws:
        _until(ws, lambda m: m["type"] == "snapshot" and m["call"])
        offer = _slots(ws, ben_call)
        assert offer["type"] == "appointment_slots" and offer["chosen"] == TYPE
        assert [t["name"] for t in offer["types"]] == [TYPE]
        assert [f["name"] for f in offer["types"][0]["intake"]] == ["address", "problem"]
        slots = offer["slots"]
        assert len(slots) == 6 and offer["more"] is True
        first = dt.datetime.fromisoformat(slots[0]["start"])
        chicago = first.astimezone(zoneinfo.ZoneInfo("America/Chicago"))  # Tom's zone, not Bob's New York
        assert slots[0]["zone"] == "America/Chicago" and slots[0]["zone_label"] == chicago.strftime("%Z")
        assert slots[0]["time"] == chicago.strftime("%-I:%M %p")
        assert slots[0]["label"] == f"{chicago:%a %-d %b}, {chicago:%-I:%M %p %Z}"
        assert [dt.datetime.fromisoformat(s["start"]) - first for s in slots] == [dt.timedelta(hours=h)
                                                                                 for h in range(6)]
        # "Later": the page after the last slot, nothing twice.
        later = _slots(ws, ben_call, after={"start": slots[-1]["start"], "calendar": slots[-1]["calendar"]})
        assert dt.datetime.fromisoformat(later["slots"][0]["start"]) - first == dt.timedelta(hours=6)


@pytest.mark.processes
def test_a_held_slot_is_offered_to_nobody_else_and_choosing_another_frees_it(world, asgi_server, calls,
                                                                             django_db_blocker):
    ben_call, ana_call = calls
    with _console(asgi_server, world.sessions["ben@switchboard.test"]) as ben, \
            _console(asgi_server, world.sessions["ana@switchboard.test"]) as ana:
        _until(ben, lambda m: m["type"] == "snapshot" and m["call"])
        _until(ana, lambda m: m["type"] == "snapshot" and m["call"])
        first, second = _slots(ben, ben_call)["slots"][:2]
        held = _hold(ben, ben_call, first)
        assert held["type"] == "appointment_held" and held["hold"]["start"] == first["start"]
        with django_db_blocker.unblock(), schema_context("bobsplumbing"):
            row = Appointment.objects.get(pk=held["hold"]["id"])
            assert row.status == "held" and row.call_sid == ben_call.call_sid
            assert row.held_by == world.ben.email and row.hold_expires_at > timezone.now() + dt.timedelta(minutes=4)
        # Ana's caller is not offered Ben's caller's slot; Ben's list still shows it, as his.
        assert first["start"] not in [s["start"] for s in _slots(ana, ana_call)["slots"]]
        mine = _slots(ben, ben_call)
        assert mine["slots"][0]["start"] == first["start"] and mine["slots"][0]["held"]
        assert mine["hold"]["id"] == held["hold"]["id"]
        # Ben's caller prefers the next hour: the first is free again at once, the second is his.
        assert _hold(ben, ben_call, second)["type"] == "appointment_held"
        offered = [s["start"] for s in _slots(ana, ana_call)["slots"]]
        assert first["start"] in offered and second["start"] not in offered
        with django_db_blocker.unblock(), schema_context("bobsplumbing"):
            assert Appointment.objects.get(pk=held["hold"]["id"]).status == "released"
            assert Appointment.objects.filter(call_sid=ben_call.call_sid, status="held").count() == 1


@pytest.mark.processes
def test_book_makes_the_appointment_with_the_callers_answers_exactly_once(world, asgi_server, calls,
                                                                          django_db_blocker):
    ben_call, _ = calls
    with _console(asgi_server, world.sessions["ben@switchboard.test"]) as ws:
        _until(ws, lambda m: m["type"] == "snapshot" and m["call"])
        slot = _slots(ws, ben_call)["slots"][0]
        hold = _hold(ws, ben_call, slot)["hold"]
        # Without a slot, a name or the required intake: refused, by field, nothing booked.
        assert _book(ws, ben_call, None, name="Pat Lee")["errors"] == {
            "slot": ["Pick a slot first: it is held for the caller while you take the details."]}
        refused = _book(ws, ben_call, hold["id"], name=" ", phone="555-01", answers={"address": ""})
        assert refused["type"] == "appointment_errors"
        assert set(refused["errors"]) == {"name", "phone", "answers.address"}
        assert "Service address: this answer is required." in refused["errors"]["answers.address"]
        booked = _book(ws, ben_call, hold["id"], name="Pat Lee", email="pat@example.com",
                       answers={"address": "12 Elm St, Springfield", "problem": "Drafty windows"})
        assert booked["type"] == "appointment_booked" and booked["booked"]["id"] == hold["id"]
        assert booked["booked"]["label"] == slot["label"] and booked["booked"]["phone"] == "+12125550042"
        # A double click books nothing more; the step keeps showing the booking.
        assert _book(ws, ben_call, hold["id"], name="Pat Lee", answers={"address": "12 Elm St"})["booked"]["id"] \
            == hold["id"]
        again = _slots(ws, ben_call)
        assert again["booked"]["id"] == hold["id"] and again["slots"] == []
    with django_db_blocker.unblock(), schema_context("bobsplumbing"):
        appointment = Appointment.objects.get(call_sid=ben_call.call_sid)
        assert appointment.status == "booked" and appointment.name == "Pat Lee"
        assert str(appointment.phone) == "+12125550042"  # the caller's own number by default
        assert appointment.email == "pat@example.com" and appointment.booked_by == world.ben.email
        assert appointment.answers == {"address": "12 Elm St, Springfield", "problem": "Drafty windows"}
        assert [e.kind for e in appointment.events.all()] == ["held", "booked"]


@pytest.mark.processes
def test_a_slot_just_taken_comes_back_with_the_next_free_ones(world, asgi_server, calls, django_db_blocker):
    ben_call, ana_call = calls
    with _console(asgi_server, world.sessions["ben@switchboard.test"]) as ben, \
            _console(asgi_server, world.sessions["ana@switchboard.test"]) as ana:
        _until(ben, lambda m: m["type"] == "snapshot" and m["call"])
        _until(ana, lambda m: m["type"] == "snapshot" and m["call"])
        stale = _slots(ana, ana_call)["slots"][0]  # Ana's screen, drawn before Ben's click
        assert _hold(ben, ben_call, stale)["type"] == "appointment_held"
        taken = _hold(ana, ana_call, stale)
        assert taken["type"] == "appointment_taken"
        assert taken["message"] == "Just taken — here are the next free slots."
        alternatives = [s["start"] for s in taken["alternatives"]]
        assert alternatives and stale["start"] not in alternatives
        assert _hold(ana, ana_call, taken["alternatives"][0])["type"] == "appointment_held"
    with django_db_blocker.unblock(), schema_context("bobsplumbing"):
        assert Appointment.objects.filter(status="held").count() == 2


@pytest.mark.processes
def test_the_caller_hanging_up_frees_the_held_slot_and_books_nothing(world, asgi_server, calls, django_db_blocker):
    from answering.acd import services as acd

    ben_call, ana_call = calls
    with _console(asgi_server, world.sessions["ben@switchboard.test"]) as ben, \
            _console(asgi_server, world.sessions["ana@switchboard.test"]) as ana:
        _until(ben, lambda m: m["type"] == "snapshot" and m["call"])
        _until(ana, lambda m: m["type"] == "snapshot" and m["call"])
        slot = _slots(ben, ben_call)["slots"][0]
        hold = _hold(ben, ben_call, slot)["hold"]
        with django_db_blocker.unblock():
            acd.call_status_update(session=CallSession.objects.get(pk=ben_call.pk), status="completed", sequence=5)
            assert CallSession.objects.get(pk=ben_call.pk).caller_hung_up
            # The hang-up itself frees the slot: for everyone, at once, before any console asks.
            with schema_context("bobsplumbing"):
                assert Appointment.objects.get(pk=hold["id"]).status == "released"
        assert slot["start"] in [s["start"] for s in _slots(ana, ana_call)["slots"]]
        after = _slots(ben, ben_call)
        assert after["message"] == "The caller hung up."
        assert after["hold"] is None and after["booked"] is None
        refused = _book(ben, ben_call, hold["id"], name="Pat Lee", answers={"address": "12 Elm St, Springfield"})
        assert refused["type"] == "appointment_error" and refused["message"].startswith("The caller hung up")
    with django_db_blocker.unblock(), schema_context("bobsplumbing"):
        assert Appointment.objects.get(pk=hold["id"]).status == "released"
        assert not Appointment.objects.filter(call_sid=ben_call.call_sid, status="booked").exists()


@pytest.mark.processes
def test_a_hold_nobody_releases_runs_out_by_itself(world, asgi_server, calls, django_db_blocker):
    from calendars.services.booking import HOLD_MINUTES, holds_expire

    ben_call, _ = calls
    with _console(asgi_server, world.sessions["ben@switchboard.test"]) as ws:
        _until(ws, lambda m: m["type"] == "snapshot" and m["call"])
        hold = _hold(ws, ben_call, _slots(ws, ben_call)["slots"][0])["hold"]
    # The console closed with the slot held (a crashed browser): the sweep frees it in time.
    with django_db_blocker.unblock(), schema_context("bobsplumbing"):
        assert holds_expire(now=timezone.now() + dt.timedelta(minutes=HOLD_MINUTES - 1)) == 0
        assert holds_expire(now=timezone.now() + dt.timedelta(minutes=HOLD_MINUTES, seconds=1)) == 1
        assert Appointment.objects.get(pk=hold["id"]).status == "released"


@pytest.mark.processes
def test_another_agents_call_is_not_booked_on(world, asgi_server, calls, django_db_blocker):
    ben_call, _ = calls
    with _console(asgi_server, world.sessions["ana@switchboard.test"]) as ws:
        _until(ws, lambda m: m["type"] == "snapshot")
        ws.send(json.dumps({"action": "appointment_slots", "call": ben_call.pk, "step": "visit"}))
        assert _until(ws, lambda m: m["type"] in ("error", "appointment_slots"))["message"] == "That is not your call."
        # A step that is not an appointment step books nothing either.
        _, ana_call = calls
        refused = _ask(ws, {"action": "appointment_slots", "call": ana_call.pk, "step": "contact"},
                       "appointment_error", "appointment_slots")
        assert refused["message"] == "That step of this call's script does not book appointments."
    with django_db_blocker.unblock(), schema_context("bobsplumbing"):
        assert not Appointment.objects.exists()


# --- The script side ------------------------------------------------------------------------------

def _problems(doc, types=None) -> list[str]:
    return [str(p) for p in script_validate(definition=doc, languages=["en"], appointment_types=types)]


def test_an_appointment_step_naming_an_unknown_type_is_refused_in_words():
    assert _problems(booking_script(), {"Repair visit"}) == [
        "Step “visit”: it offers the appointment type “Estimate visit”, which is not one of the client's active "
        "appointment types (Repair visit)."]
    assert _problems(booking_script(), {TYPE}) == []


def test_an_appointment_step_needs_a_type_and_asks_nothing_of_its_own():
    doc = booking_script()
    doc["steps"][1]["appointment_types"] = []
    doc["steps"][1]["fields"] = [{"name": "when", "label": "When", "type": "text"}]
    assert _problems(doc, {TYPE}) == [
        "Step “visit”: an appointment step offers at least one appointment type (by name).",
        "Step “visit”: an appointment step asks the appointment type's intake fields; put other questions on a "
        "step of their own."]
    doc = booking_script()
    doc["steps"][0]["appointment_types"] = [TYPE]
    assert _problems(doc, {TYPE}) == ["Step “contact”: only an appointment step offers appointment types; set its "
                                      "kind to appointment or remove them."]
    doc = booking_script()
    doc["steps"][1]["kind"] = "booking"
    assert _problems(doc, {TYPE}) == ["Step “visit”: unknown kind “booking”; use question, appointment."]
    doc["steps"][1]["kind"] = 3
    assert "Step “visit”: “kind” is one of question, appointment." in _problems(doc, {TYPE})


@pytest.mark.django_db
def test_the_import_checks_the_clients_own_types_and_export_keeps_the_step(world):
    with schema_context("charlieclinic"):
        AppointmentType.objects.create(name=TYPE)  # Charlie's clinic has one; Bob's does not
        # Charlie's clinic is bilingual: the Spanish text too.
        doc = booking_script(steps=[{**s, "say": {**s["say"], "es": "¿Sí?"}} for s in booking_script()["steps"]])
        script = script_import_json(data=doc)
        exported = script_export_json(script=script)
        assert exported["steps"][1]["kind"] == "appointment"
        assert exported["steps"][1]["appointment_types"] == [TYPE]
        assert script.current_version.definition == exported
        assert script_import_json(data=exported).current_version == script.current_version  # unchanged
        AppointmentType.objects.filter(name=TYPE).update(active=False)
        with pytest.raises(ScriptInvalid, match="not one of the client's active appointment types"):
            script_import_json(data=exported)
    with schema_context("bobsplumbing"), pytest.raises(ScriptInvalid, match="“Estimate visit”, which is not one"):
        script_import_json(data=booking_script())


def test_a_question_step_keeps_its_old_form_so_published_versions_stay_current():
    # No kind, no types on a question step: definitions published before steps had kinds
    # normalize (and checksum) exactly as they did.
    step = script_normalize(booking_script())["steps"][0]
    assert "kind" not in step and "appointment_types" not in step
    assert script_normalize(booking_script())["steps"][1]["kind"] == "appointment"


def test_the_agent_command_books_on_the_calls_appointment_step(world, calls, django_db_blocker):
    """`manage.py agent <email> book`: the demo's (and a newcomer's) way to book on a simulated
    call from the shell — the same services as the console's step."""
    from io import StringIO

    from django.core.management import CommandError, call_command

    ben_call, _ = calls
    out = StringIO()
    with django_db_blocker.unblock():
        with pytest.raises(CommandError, match="address"):  # the type's required intake, by field
            call_command("agent", world.ben.email, "book", answers='{"name": "Pat Lee"}', stdout=out)
        call_command("agent", world.ben.email, "book",
                     answers='{"name": "Pat Lee", "address": "12 Elm St, Springfield"}', stdout=out)
        with schema_context("bobsplumbing"):
            booked = Appointment.objects.get(call_sid=ben_call.call_sid, status="booked")
            assert booked.name == "Pat Lee" and booked.answers["address"] == "12 Elm St, Springfield"
            assert not Appointment.objects.filter(call_sid=ben_call.call_sid, status="held").exists()
    assert f"Booked {TYPE} with Tom (estimates)" in out.getvalue()
