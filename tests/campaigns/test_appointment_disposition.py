"""The campaigns' "appointment set" (issue #17): it records the appointment booked on the
campaign script's appointment step — through the calendar's own booking service — and is
refused, in words, when nothing was booked; a campaign whose script books nothing keeps the
disposition as it was."""

from __future__ import annotations

import datetime as dt
import uuid

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone
from django_tenants.utils import schema_context

from answering.acd.models import AgentPresence, CallSession
from answering.scripts import appointments
from answering.scripts.services import script_import_json
from answering.twilio import gateway
from calendars.models import Appointment, AppointmentType, Calendar, WorkingHours
from campaigns.models import CallAttempt, Contact, ContactList
from campaigns.services.dispositions import attempt_disposition
from campaigns.services.lifecycle import campaign_create
from compliance.rules import Channel, Purpose

pytestmark = pytest.mark.django_db

TYPE = "Estimate visit"


def _script(*, booking: bool) -> dict:
    steps = [{"key": "hello", "say": {"en": "Hello {first_name}, would you like a free estimate?"},
              "fields": [{"name": "interested", "label": "Interested?", "type": "yes_no", "required": True}],
              "next": "visit" if booking else None, "end": None if booking else {"action": "log"}}]
    if booking:
        steps.append({"key": "visit", "kind": "appointment", "appointment_types": [TYPE],
                      "say": {"en": "Which of these times suits you?"}, "end": {"action": "log"}})
    return {"key": "estimates" if booking else "estimates_plain", "name": "Estimates", "steps": steps}


class Recorder:
    def call_end(self, call_sid: str, *, account_sid: str = "") -> None:
        pass


@pytest.fixture
def line(world, monkeypatch):
    """factory(booking=True) -> a connected call of an "Estimates" campaign of Bob's to Dana,
    answered by Ana, on a script with (or without) an appointment step offering Tom's visits."""
    monkeypatch.setattr(gateway, "get", lambda: Recorder())
    with schema_context("bobsplumbing"):
        tom = Calendar.objects.create(name="Tom (estimates)", time_zone="America/Chicago")
        WorkingHours.objects.bulk_create([WorkingHours(calendar=tom, weekday=d, start=dt.time(0),
                                                       end=dt.time(23, 59, 59)) for d in range(7)])
        type_ = AppointmentType.objects.create(name=TYPE, duration_minutes=60, step_minutes=60, min_notice_minutes=0,
                                               horizon_days=14)
        type_.calendars.add(tom)

    def make(*, booking: bool = True, agent=None):
        agent = agent or world.ana
        with schema_context("bobsplumbing"):
            script = script_import_json(data=_script(booking=booking))
            campaign = campaign_create(name=f"Estimates {uuid.uuid4().hex[:6]}", purpose=Purpose.TELEMARKETING,
                                       mode="progressive", script=script)
            contacts = ContactList.objects.create(campaign=campaign, name="November")
            contact = Contact.objects.create(campaign=campaign, list=contacts, number="+13125550142",
                                             first_name="Dana", status=Contact.Status.IN_FLIGHT, attempts=1)
            attempt = CallAttempt.objects.create(
                campaign=campaign, contact=contact, number=contact.number, channel=Channel.AUTODIALED,
                purpose=campaign.purpose, mode=campaign.mode, agent_id=agent.pk, started_at=timezone.now(),
                answered_at=timezone.now(), outcome=CallAttempt.Outcome.LIVE_ANSWERED)
        session = CallSession.objects.create(
            call_sid="CA" + uuid.uuid4().hex, client=world.bobs, direction=CallSession.Direction.OUTBOUND,
            from_number="+12125550111", to_number=str(contact.number), state=CallSession.State.CONNECTED,
            agent=agent, answered_at=timezone.now(), attempt_id=attempt.pk,
            script_version_id=script.current_version_id)  # pinned by the screen pop
        AgentPresence.objects.update_or_create(agent=agent, defaults={"status": "on_call", "mode": "outbound"})
        return session, attempt, contact

    return make


def _hold(session, agent):
    slot = appointments.call_appointment_offer(session=session, agent=agent, step="visit")["slots"][0]
    return appointments.call_appointment_hold(session=session, agent=agent, step="visit", type_name=TYPE,
                                              calendar_id=slot["calendar"],
                                              start=dt.datetime.fromisoformat(slot["start"]))


def test_appointment_set_records_the_appointment_booked_on_the_step(world, line):
    session, attempt, contact = line()
    with schema_context("bobsplumbing"):
        hold = _hold(session, world.ana)
        booked = appointments.call_appointment_book(session=session, agent=world.ana, step="visit", hold_id=hold.pk,
                                                    name="Dana Reyes")
        assert str(booked.phone) == "+13125550142"  # the person called, by default
        attempt_disposition(attempt=attempt, agent=world.ana, code="appointment", answers={"interested": "yes"})
        attempt.refresh_from_db()
        contact.refresh_from_db()
        assert attempt.disposition.kind == "appointment" and contact.status == Contact.Status.DONE
        assert attempt.answers == {"interested": "yes", "_appointment": {
            "id": booked.pk, "type": TYPE, "calendar": "Tom (estimates)", "start": booked.start.isoformat()}}
        assert Appointment.objects.get(pk=booked.pk).call_sid == session.call_sid


def test_appointment_set_without_a_booking_is_refused_in_words(world, line):
    session, attempt, contact = line()
    with schema_context("bobsplumbing"):
        hold = _hold(session, world.ana)  # held, not booked: not an appointment yet
        with pytest.raises(ValidationError) as refused:
            attempt_disposition(attempt=attempt, agent=world.ana, code="appointment")
        assert refused.value.message_dict == {"code": ["Book the appointment on the script's appointment step first."]}
        attempt.refresh_from_db()
        contact.refresh_from_db()
        assert attempt.disposition_id is None and contact.status == Contact.Status.IN_FLIGHT
        assert Appointment.objects.get(pk=hold.pk).status == "held"  # nothing changed


def test_a_booking_on_another_call_does_not_count(world, line):
    session, attempt, _ = line()
    other, _, _ = line(agent=world.ben)  # Ben's call, at the same time
    with schema_context("bobsplumbing"):
        hold = _hold(other, world.ben)
        appointments.call_appointment_book(session=other, agent=world.ben, step="visit", hold_id=hold.pk, name="Kim")
        with pytest.raises(ValidationError, match="Book the appointment"):
            attempt_disposition(attempt=attempt, agent=world.ana, code="appointment")


def test_another_disposition_frees_a_slot_held_and_not_booked(world, line):
    session, attempt, _ = line()
    with schema_context("bobsplumbing"):
        hold = _hold(session, world.ana)
        attempt_disposition(attempt=attempt, agent=world.ana, code="not_interested")
        assert Appointment.objects.get(pk=hold.pk).status == "released"


def test_a_campaign_whose_script_books_nothing_sets_appointments_as_before(world, line):
    _, attempt, contact = line(booking=False)
    with schema_context("bobsplumbing"):
        attempt_disposition(attempt=attempt, agent=world.ana, code="appointment", answers={"interested": "yes"})
        attempt.refresh_from_db()
        assert attempt.disposition.kind == "appointment" and attempt.answers == {"interested": "yes"}
