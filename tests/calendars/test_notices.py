"""Appointments' confirmations and reminders: planned with the booking, sent once through the
gate and the durable outbox (the simulated gateway's outbox in Redis counts the texts), moved
and cancelled with the appointment, on its timeline; replies C and R; one client's replies
never touch another's appointments.

Bob's technician Tom works 08:00–17:00 (New York); it is Tuesday 2 June 2026, 09:00 there.
Pat (+1 212 555 0199) books a repair visit for Thursday 11:00; Bob's sends a confirmation at
once and reminders 24 h and 2 h before.
"""

from __future__ import annotations

import datetime as dt
import json
import uuid
import zoneinfo
from types import SimpleNamespace

import pytest
import redis
from django.conf import settings
from django.core import mail
from django.test import Client as HttpClient
from django.utils import timezone
from django_tenants.utils import schema_context

from answering.acd.models import OutboxTimer
from answering.messages import outbox
from answering.messages.services import inbound_sms_receive
from answering.twilio import gateway, simulator
from answering.twilio.gateway import SIM_FAIL, SIM_HOLD, SIM_OUTBOX
from calendars.models import Appointment, AppointmentNotice, AppointmentType, Calendar, ReminderRule, WorkingHours
from calendars.services import booking, notices
from campaigns.models import Contact
from tests.conftest import PLATFORM_HOST

pytestmark = pytest.mark.django_db

NY = zoneinfo.ZoneInfo("America/New_York")
CHICAGO = zoneinfo.ZoneInfo("America/Chicago")
BOB_NUMBER, CHARLIE_NUMBER = "+12125550111", "+13125550113"
PAT = "+12125550199"


def at(day: int, hour: int, zone=NY) -> dt.datetime:
    return dt.datetime(2026, 6, day, hour, 0, tzinfo=zone)


@pytest.fixture
def clock():
    import time_machine

    with time_machine.travel(at(2, 9), tick=False) as traveller:
        yield traveller


@pytest.fixture
def sim():
    """The simulator's outbox, emptied before and after."""
    r = redis.Redis.from_url(settings.REDIS_URL)
    keys = [SIM_OUTBOX.format(kind="sms"), SIM_OUTBOX.format(kind="call"), SIM_FAIL, SIM_HOLD]
    r.delete(*keys)

    def sent(kind: str = "sms", to: str | None = PAT) -> list[dict]:
        items = [json.loads(raw) for raw in r.lrange(SIM_OUTBOX.format(kind=kind), 0, -1)]
        return [i for i in items if to is None or i["to"] == to]

    yield SimpleNamespace(redis=r, sent=sent, fail=lambda number, code: r.hset(SIM_FAIL, number, code))
    r.delete(*keys)


def _calendar(schema: str, zone: str, rules: list[dict]) -> SimpleNamespace:
    with schema_context(schema):
        tom = Calendar.objects.create(name="Tom", time_zone=zone)
        WorkingHours.objects.bulk_create([WorkingHours(calendar=tom, weekday=d, start=dt.time(8), end=dt.time(17))
                                          for d in range(7)])
        type_ = AppointmentType.objects.create(name="Repair visit", duration_minutes=60, step_minutes=60,
                                               min_notice_minutes=60, horizon_days=14)
        type_.calendars.add(tom)
        made = [ReminderRule.objects.create(**rule) for rule in rules]
    return SimpleNamespace(schema=schema, calendar=tom, type=type_, rules=made)


TEXTS = [{"kind": "confirmation", "channel": "sms"},
         {"kind": "reminder", "channel": "sms", "minutes_before": 24 * 60},
         {"kind": "reminder", "channel": "sms", "minutes_before": 120}]


@pytest.fixture
def bobs(world, sim, clock, eager_celery, settings):
    settings.EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
    return _calendar("bobsplumbing", "America/New_York", TEXTS)


@pytest.fixture
def run(django_capture_on_commit_callbacks):
    """run(fn, *args, schema=…) inside the client's schema, then its on-commit hooks (the
    worker's fast path runs eagerly)."""

    def call(fn, *args, schema: str = "bobsplumbing", **kwargs):
        with schema_context(schema), django_capture_on_commit_callbacks(execute=True):
            return fn(*args, **kwargs)

    return call


def book(run, cal, start, *, phone=PAT, email="", schema="bobsplumbing") -> Appointment:
    return run(booking.appointment_book, type_=cal.type, calendar=cal.calendar, start=start, by="ana", name="Pat Lee",
               phone=phone, email=email, schema=schema)


def notices_of(appointment: Appointment, schema: str = "bobsplumbing") -> list[tuple]:
    with schema_context(schema):
        return list(AppointmentNotice.objects.filter(appointment=appointment).order_by("due_at", "pk")
                    .values_list("kind", "status", "due_at"))


def events_of(appointment: Appointment, schema: str = "bobsplumbing") -> list[str]:
    with schema_context(schema):
        return list(appointment.events.values_list("kind", flat=True))


def sweep(run) -> int:
    """The beat's outbox sweep (public schema): due timers handed to the (eager) worker."""
    return run(outbox.outbox_sweep, schema="public")


def text_in(run, number: str, body: str, *, to: str = BOB_NUMBER, client=None, schema="bobsplumbing"):
    return run(inbound_sms_receive, client=client, message_sid="SM" + uuid.uuid4().hex, from_number=number,
               to_number=to, body=body, schema=schema)


# --- Planned with the booking, sent by the worker ------------------------------------------

def test_a_booking_texts_a_confirmation_now_and_reminders_24_and_2_hours_before(bobs, sim, run, clock, world):
    appointment = book(run, bobs, at(4, 11))
    assert notices_of(appointment) == [("confirmation", "sent", at(2, 9)), ("reminder", "queued", at(3, 11)),
                                       ("reminder", "queued", at(4, 9))]
    [text] = sim.sent()
    assert text["from"] == BOB_NUMBER
    assert text["body"] == ("Bob's Plumbing: your Repair visit with Tom is booked for Thu 4 Jun at 11:00. "
                            "Reply C to confirm, R to reschedule, STOP to opt out.")  # 11:00 in New York, 15:00 UTC
    with schema_context("bobsplumbing"):
        confirmation = AppointmentNotice.objects.get(appointment=appointment, kind="confirmation")
        assert confirmation.provider_sid == text["sid"] and confirmation.body == text["body"]
        timers = set(OutboxTimer.objects.filter(client=world.bobs, kind="notice").values_list("object_id", "due_at"))
        reminders = set(AppointmentNotice.objects.filter(appointment=appointment, kind="reminder")
                        .values_list("pk", "due_at"))
    assert timers == reminders  # each queued reminder has its timer; the sent confirmation none
    assert events_of(appointment) == ["booked", "confirmation_sent"]

    assert sweep(run) == 0  # nothing due yet
    clock.move_to(at(3, 11))
    assert sweep(run) == 1
    assert [t["body"] for t in sim.sent()][1] == ("Bob's Plumbing reminder: your Repair visit with Tom is Thu 4 Jun at "
                                                  "11:00. Reply C to confirm, R to reschedule, STOP to opt out.")
    clock.move_to(at(4, 9))
    assert sweep(run) == 1
    assert len(sim.sent()) == 3
    assert [s for _, s, _ in notices_of(appointment)] == ["sent", "sent", "sent"]
    assert events_of(appointment) == ["booked", "confirmation_sent", "reminder_sent", "reminder_sent"]
    assert sweep(run) == 0
    assert not OutboxTimer.objects.filter(client=world.bobs, kind="notice").exists()


def test_a_reminder_already_past_when_booked_is_not_queued(bobs, sim, run):
    appointment = book(run, bobs, at(2, 11))  # 24 h before is past; 2 h before is now
    assert [(k, s) for k, s, _ in notices_of(appointment)] == [("confirmation", "sent")]


def test_no_number_no_text_and_an_email_rule_emails(bobs, sim, run):
    with schema_context("bobsplumbing"):
        ReminderRule.objects.create(kind="confirmation", channel="email")
    appointment = book(run, bobs, at(4, 11), phone="", email="pat@example.test")
    assert [(k, s) for k, s, _ in notices_of(appointment)] == [("confirmation", "sent")]
    assert sim.sent(to=None) == []
    [email] = mail.outbox
    assert email.to == ["pat@example.test"] and "Thu 4 Jun at 11:00" in email.subject
    assert "is booked for Thu 4 Jun at 11:00" in email.body


def test_a_rule_for_other_types_does_not_apply(bobs, sim, run):
    with schema_context("bobsplumbing"):
        other = AppointmentType.objects.create(name="Boiler service")
        for rule in bobs.rules:
            rule.types.add(other)
    appointment = book(run, bobs, at(4, 11))
    assert notices_of(appointment) == [] and sim.sent() == []


def test_a_spoken_reminder_calls_and_its_twiml_says_the_words(bobs, sim, run):
    with schema_context("bobsplumbing"):
        ReminderRule.objects.all().delete()
        ReminderRule.objects.create(kind="confirmation", channel="call")
    appointment = book(run, bobs, at(4, 11))
    [call] = sim.sent("call")
    with schema_context("bobsplumbing"):
        notice = AppointmentNotice.objects.get(appointment=appointment)
    assert notice.status == "sent" and call["url"].endswith(f"/twilio/notice/bobsplumbing/{notice.pk}")
    response = _twilio(call["url"], {"CallSid": "CA" + "1" * 32, "AccountSid": settings.TWILIO_ACCOUNT_SID,
                                     "CallStatus": "in-progress"})
    assert response.status_code == 200
    assert b"<Say" in response.content and b"Thursday" not in response.content
    assert b"Repair visit with Tom is on Thu 4 Jun at 11:00" in response.content
    _twilio(call["status_callback"], {"CallSid": call["sid"], "AccountSid": settings.TWILIO_ACCOUNT_SID,
                                      "CallStatus": "in-progress"})
    _twilio(call["status_callback"], {"CallSid": call["sid"], "AccountSid": settings.TWILIO_ACCOUNT_SID,
                                      "CallStatus": "completed"})
    with schema_context("bobsplumbing"):
        notice.refresh_from_db()
    assert notice.status == "delivered"


# --- The gate ------------------------------------------------------------------------------

def test_a_reminder_after_the_person_texted_stop_is_refused_and_nothing_is_sent(bobs, sim, run, clock, world):
    appointment = book(run, bobs, at(4, 11))
    reply = text_in(run, PAT, "STOP", client=world.bobs)
    assert "unsubscribed" in reply
    clock.move_to(at(3, 11))
    assert sweep(run) == 1
    assert len(sim.sent()) == 1  # the confirmation, before the STOP; no reminder
    with schema_context("bobsplumbing"):
        refused = AppointmentNotice.objects.get(appointment=appointment, due_at=at(3, 11))
        assert refused.status == "refused" and "do-not-call list" in refused.error and refused.provider_sid == ""
        event = appointment.events.get(kind="notice_refused")
        assert "do-not-call list" in event.detail and event.data["reasons"][0]["code"] == "client_dnc"
        assert not OutboxTimer.objects.filter(client=world.bobs, kind="notice", object_id=refused.pk).exists()
    # The 2-hour reminder too: the opt-out holds for every later one.
    clock.move_to(at(4, 9))
    sweep(run)
    assert len(sim.sent()) == 1
    assert [s for _, s, _ in notices_of(appointment)] == ["sent", "refused", "refused"]


def test_outside_calling_hours_a_confirmation_waits_for_the_morning(bobs, sim, run, clock):
    clock.move_to(at(2, 22))  # an after-hours call books for tomorrow
    appointment = book(run, bobs, at(3, 11))
    assert sim.sent() == []
    with schema_context("bobsplumbing"):
        confirmation = AppointmentNotice.objects.get(appointment=appointment, kind="confirmation")
        assert confirmation.status == "queued" and confirmation.due_at == at(3, 8) + dt.timedelta(minutes=1)
        assert "Federal hours" in appointment.events.get(kind="notice_deferred").detail
    clock.move_to(at(3, 8) + dt.timedelta(minutes=1))
    sweep(run)
    [text] = sim.sent()
    assert text["body"].startswith("Bob's Plumbing: your Repair visit with Tom is booked for Wed 3 Jun at 11:00.")


def test_a_transient_twilio_error_is_retried_later_and_sent_once(bobs, sim, run, clock):
    sim.fail(PAT, 20429)
    appointment = book(run, bobs, at(4, 11))
    with schema_context("bobsplumbing"):
        notice = AppointmentNotice.objects.get(appointment=appointment, kind="confirmation")
    assert notice.status == "queued" and notice.tries == 1 and notice.due_at == at(2, 9) + dt.timedelta(seconds=10)
    sim.redis.hdel(SIM_FAIL, PAT)
    clock.move_to(at(2, 9) + dt.timedelta(seconds=10))
    sweep(run)
    assert len(sim.sent()) == 1


def test_a_permanent_twilio_error_fails_on_the_timeline(bobs, sim, run):
    sim.fail(PAT, 21211)
    appointment = book(run, bobs, at(4, 11))
    with schema_context("bobsplumbing"):
        notice = AppointmentNotice.objects.get(appointment=appointment, kind="confirmation")
    assert notice.status == "failed" and notice.error_code == "21211"
    assert "notice_failed" in events_of(appointment)


# --- Exactly once ----------------------------------------------------------------------------

def test_running_a_send_again_sends_nothing_more(bobs, sim, run):
    appointment = book(run, bobs, at(4, 11))
    with schema_context("bobsplumbing"):
        notice = AppointmentNotice.objects.get(appointment=appointment, kind="confirmation")
    for _ in range(3):
        assert run(notices.notice_send, notice_id=notice.pk).status == "sent"
    assert len(sim.sent()) == 1


def test_a_send_interrupted_after_twilio_took_it_is_found_not_sent_again(bobs, sim, run, clock, world):
    """The worker died between Twilio's taking the text and our recording its SID."""
    appointment = book(run, bobs, at(4, 11))
    clock.move_to(at(3, 11))
    with schema_context("bobsplumbing"):
        notice = AppointmentNotice.objects.get(appointment=appointment, due_at=at(3, 11))
        notice.body = notices.notice_body(notice, client=world.bobs)
        sent = gateway.get().sms_send(to=PAT, from_=BOB_NUMBER, body=notice.body, status_callback="x")
        AppointmentNotice.objects.filter(pk=notice.pk).update(
            status="sending", tries=1, body=notice.body, lease_until=timezone.now() - dt.timedelta(seconds=1))
    assert run(notices.notice_send, notice_id=notice.pk).status == "sent"
    with schema_context("bobsplumbing"):
        notice.refresh_from_db()
        assert notice.provider_sid == sent.sid and notice.tries == 2
        assert "after an interrupted try" in appointment.events.get(kind="reminder_sent").detail
    assert len(sim.sent()) == 2  # the confirmation and this one reminder


def test_a_send_held_by_a_live_lease_is_left_to_its_worker(bobs, sim, run, clock):
    appointment = book(run, bobs, at(4, 11))
    clock.move_to(at(3, 11))
    with schema_context("bobsplumbing"):
        notice = AppointmentNotice.objects.get(appointment=appointment, due_at=at(3, 11))
        AppointmentNotice.objects.filter(pk=notice.pk).update(status="sending",
                                                              lease_until=timezone.now() + dt.timedelta(minutes=1))
    assert run(notices.notice_send, notice_id=notice.pk).status == "busy"
    assert len(sim.sent()) == 1


# --- Moved and cancelled ---------------------------------------------------------------------

def test_a_reschedule_cancels_the_queued_reminders_and_queues_the_new_starts(bobs, sim, run, clock, world):
    appointment = book(run, bobs, at(4, 11))
    moved = run(booking.appointment_reschedule, appointment=appointment, start=at(5, 13), by="bea")
    assert [(k, s, d) for k, s, d in notices_of(moved)] == [
        ("confirmation", "sent", at(2, 9)), ("confirmation", "sent", at(2, 9)),
        ("reminder", "cancelled", at(3, 11)), ("reminder", "cancelled", at(4, 9)),
        ("reminder", "queued", at(4, 13)), ("reminder", "queued", at(5, 11))]
    assert sim.sent()[1]["body"].startswith("Bob's Plumbing: your Repair visit with Tom has moved to Fri 5 Jun at 13:00.")
    with schema_context("bobsplumbing"):
        timers = set(OutboxTimer.objects.filter(client=world.bobs, kind="notice").values_list("due_at", flat=True))
    assert timers == {at(4, 13), at(5, 11)}
    clock.move_to(at(4, 13))
    sweep(run)
    assert "Fri 5 Jun at 13:00" in sim.sent()[2]["body"] and len(sim.sent()) == 3


def test_a_cancellation_cancels_the_queued_reminders(bobs, sim, run, clock, world):
    appointment = book(run, bobs, at(4, 11))
    run(booking.appointment_cancel, appointment=appointment, by="bea", reason="Fixed it himself")
    assert [s for _, s, _ in notices_of(appointment)] == ["sent", "cancelled", "cancelled"]
    assert not OutboxTimer.objects.filter(client=world.bobs, kind="notice").exists()
    clock.move_to(at(4, 10))
    sweep(run)
    assert len(sim.sent()) == 1


def test_a_reminder_whose_appointment_was_cancelled_meanwhile_is_not_sent(bobs, sim, run, clock):
    """Its worker was already on it (a lost lease) when the appointment was cancelled."""
    appointment = book(run, bobs, at(4, 11))
    with schema_context("bobsplumbing"):
        notice = AppointmentNotice.objects.get(appointment=appointment, due_at=at(3, 11))
        AppointmentNotice.objects.filter(pk=notice.pk).update(status="sending", lease_until=at(2, 9))
    run(booking.appointment_cancel, appointment=appointment, by="bea", reason="Fixed")
    clock.move_to(at(3, 11))
    assert run(notices.notice_send, notice_id=notice.pk).status == "cancelled"
    assert len(sim.sent()) == 1


# --- Status callbacks ------------------------------------------------------------------------

def _twilio(url: str, params: dict):
    """POST ``params`` to ``url`` (absolute, as Twilio calls it) on the platform host, signed."""
    return HttpClient(HTTP_HOST=PLATFORM_HOST).post(url.removeprefix(settings.PUBLIC_BASE_URL), params,
                                                    HTTP_X_TWILIO_SIGNATURE=simulator.signature(url, params))


def test_status_callbacks_mark_a_text_delivered_once_and_never_backwards(bobs, sim, run):
    appointment = book(run, bobs, at(4, 11))
    [text] = sim.sent()
    for status in ("delivered", "sent", "delivered", "undelivered"):
        params = {"MessageSid": text["sid"], "MessageStatus": status, "AccountSid": settings.TWILIO_ACCOUNT_SID,
                  "To": PAT, "From": BOB_NUMBER}
        assert _twilio(text["status_callback"], params).status_code == 204
    with schema_context("bobsplumbing"):
        notice = AppointmentNotice.objects.get(appointment=appointment, kind="confirmation")
    assert notice.status == "delivered" and notice.delivered_at is not None
    assert events_of(appointment) == ["booked", "confirmation_sent", "notice_delivered"]


def test_an_unsigned_status_callback_changes_nothing(bobs, sim, run):
    appointment = book(run, bobs, at(4, 11))
    [text] = sim.sent()
    response = HttpClient(HTTP_HOST=PLATFORM_HOST).post(text["status_callback"].removeprefix(settings.PUBLIC_BASE_URL),
                                                        {"MessageSid": text["sid"], "MessageStatus": "undelivered"},
                                                        HTTP_X_TWILIO_SIGNATURE="forged")
    assert response.status_code == 403
    with schema_context("bobsplumbing"):
        assert AppointmentNotice.objects.get(appointment=appointment, kind="confirmation").status == "sent"


def test_an_undelivered_text_fails_with_twilios_code(bobs, sim, run):
    appointment = book(run, bobs, at(4, 11))
    [text] = sim.sent()
    _twilio(text["status_callback"], {"MessageSid": text["sid"], "MessageStatus": "undelivered", "ErrorCode": "30003",
                                      "AccountSid": settings.TWILIO_ACCOUNT_SID, "To": PAT, "From": BOB_NUMBER})
    with schema_context("bobsplumbing"):
        notice = AppointmentNotice.objects.get(appointment=appointment, kind="confirmation")
    assert notice.status == "failed" and notice.error_code == "30003"
    assert "notice_failed" in events_of(appointment)


# --- Replies -------------------------------------------------------------------------------

def test_c_confirms_the_appointment(bobs, sim, run, world):
    appointment = book(run, bobs, at(4, 11))
    reply = text_in(run, PAT, "C.", client=world.bobs)
    assert reply == "Bob's Plumbing: thanks, confirmed: your Repair visit with Tom, Thu 4 Jun at 11:00."
    with schema_context("bobsplumbing"):
        appointment.refresh_from_db()
    assert appointment.confirmed_at == at(2, 9)
    assert text_in(run, PAT, "confirm", client=world.bobs).startswith("Bob's Plumbing: thanks, confirmed")
    assert events_of(appointment).count("confirmed") == 1


def test_r_asks_for_a_call_back_to_reschedule(bobs, sim, run, world):
    appointment = book(run, bobs, at(4, 11))
    reply = text_in(run, PAT, "r", client=world.bobs)
    assert reply.startswith("Bob's Plumbing: we will call you to find a new time")
    with schema_context("bobsplumbing"):
        contact = Contact.objects.get(number=PAT, campaign__is_callbacks=True)
        appointment.refresh_from_db()
    assert "reschedule Repair visit with Tom" in contact.reason and contact.first_name == "Pat Lee"
    assert appointment.confirmed_at is None and "reschedule_requested" in events_of(appointment)


def test_yes_is_not_a_confirmation(bobs, sim, run, world):
    appointment = book(run, bobs, at(4, 11))
    text_in(run, PAT, "yes", client=world.bobs)
    with schema_context("bobsplumbing"):
        appointment.refresh_from_db()
    assert appointment.confirmed_at is None


def test_a_c_from_a_number_we_never_texted_falls_through(bobs, sim, run, world):
    book(run, bobs, at(4, 11))
    with schema_context("bobsplumbing"):
        assert notices.notice_reply(client=world.bobs, from_number="+12125550198", body="C") is None
        assert notices.notice_reply(client=world.bobs, from_number=PAT, body="Can you come earlier?") is None
    assert text_in(run, "+12125550198", "C", client=world.bobs) is None
    with schema_context("bobsplumbing"):
        assert not Appointment.objects.filter(confirmed_at__isnull=False).exists()


def test_a_reply_to_one_clients_number_never_confirms_anothers_appointment(bobs, sim, run, world):
    charlies = _calendar("charlieclinic", "America/Chicago", TEXTS[:1])
    at_bobs = book(run, bobs, at(4, 11))
    at_charlies = book(run, charlies, at(4, 11, CHICAGO), schema="charlieclinic")
    assert [t["from"] for t in sim.sent()] == [BOB_NUMBER, CHARLIE_NUMBER]
    assert "Thu 4 Jun at 11:00" in sim.sent()[1]["body"]  # Chicago's 11:00, not New York's
    assert text_in(run, PAT, "C", client=world.bobs).startswith("Bob's Plumbing")
    with schema_context("charlieclinic"):
        at_charlies.refresh_from_db()
        assert at_charlies.confirmed_at is None and "confirmed" not in events_of(at_charlies, "charlieclinic")
    with schema_context("bobsplumbing"):
        at_bobs.refresh_from_db()
        assert at_bobs.confirmed_at is not None
    # And the other way round: R to Charlie's number is Charlie's follow-up, not Bob's.
    assert text_in(run, PAT, "R", to=CHARLIE_NUMBER, client=world.charlies, schema="charlieclinic") \
        .startswith("Charlie's Clinic")
    with schema_context("bobsplumbing"):
        assert not Contact.objects.filter(number=PAT).exists()
    with schema_context("charlieclinic"):
        assert Contact.objects.filter(number=PAT, campaign__is_callbacks=True).exists()
