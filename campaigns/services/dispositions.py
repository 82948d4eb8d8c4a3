"""How an agent closes a connected campaign call: the disposition, and what follows from it.

Run inside the client's schema. ``attempt_disposition`` writes the disposition onto the
attempt and the contact (done, a callback booked, an opt-out), then lets the ACD's wrap-up
go on exactly as for an inbound call: a call still connected is hung up (its status
callback starts the wrap-up countdown), a wrap-up that waited for the agent counts down now.

"Appointment set" records the appointment booked on the campaign script's appointment step
(``answering.scripts.appointments``, the calendar's own booking service): its id goes into the
attempt's data, and without a booking it is refused. A campaign whose script has no
appointment step records the disposition alone.

A callback's time comes from the console's form as a local date and time, read in the
CONTACT's time zone — the zone the person being called back lives in: the contact's own
``time_zone``, else the zone its number rings in (``compliance.location``), else the
client's. The form says which zone it is (``contact_zone``).
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from decimal import Decimal, InvalidOperation

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from answering.acd import services as acd
from answering.acd.models import CallSession
from answering.models import CallRecord, ScriptVersion
from answering.scripts import appointments
from answering.twilio import gateway
from campaigns.models import CallAttempt, Contact, Disposition
from compliance.location import number_time_zones
from compliance.rules import OptOutSource
from compliance.services.optout import opt_out_record
from tenants.models import Client, User
from tenants.selectors import client_current

Kind = Disposition.Kind
CALLBACK_TO = ("me", "anyone")
MAX_AMOUNT = Decimal("99999999.99")  # CallAttempt.amount: 10 digits, 2 decimals


def contact_zone(contact: Contact, client: Client) -> str:
    """The IANA zone a contact lives in: its own, else its number's (the first, for a number
    whose area spans zones), else the client's."""
    if contact.time_zone:
        try:
            zoneinfo.ZoneInfo(contact.time_zone)
            return contact.time_zone
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            pass  # an import that wrote a zone nobody knows: fall through to the number's
    zones = number_time_zones(str(contact.number))
    return zones[0] if zones else client.time_zone


def _local_to_utc(value: dt.datetime, zone: str) -> dt.datetime:
    """A naive form time is the contact's wall-clock time; an aware one is taken as it is.
    A wall-clock time the clocks skip (2:30 on the spring-forward night) reads as the moment
    one hour later, as zoneinfo does for fold=0."""
    if timezone.is_aware(value):
        return value.astimezone(dt.timezone.utc)
    return value.replace(tzinfo=zoneinfo.ZoneInfo(zone)).astimezone(dt.timezone.utc)


def _amount(kind: str, amount) -> Decimal | None:
    if kind != Kind.SALE:
        return None
    if amount in (None, ""):
        raise ValidationError({"amount": ["A sale needs its amount."]})
    try:
        value = Decimal(str(amount).strip().replace(",", "").lstrip("$"))
    except InvalidOperation:
        raise ValidationError({"amount": [f"“{amount}” is not an amount."]}) from None
    if not value.is_finite() or value < 0:
        raise ValidationError({"amount": ["The amount of a sale is zero or more."]})
    if value > MAX_AMOUNT:
        raise ValidationError({"amount": [f"The amount is at most {MAX_AMOUNT:,}."]})
    return value.quantize(Decimal("0.01"))


def _callback(kind: str, callback_at, callback_to: str, zone: str) -> dt.datetime | None:
    if kind != Kind.CALLBACK:
        return None
    if callback_to not in CALLBACK_TO:
        raise ValidationError({"callback_to": ["A callback goes to you (“me”) or to anyone."]})
    if not callback_at:
        raise ValidationError({"callback_at": ["A callback needs a date and a time."]})
    if isinstance(callback_at, str):
        try:
            callback_at = dt.datetime.fromisoformat(callback_at.strip())
        except ValueError:
            raise ValidationError({"callback_at": [f"“{callback_at}” is not a date and time."]}) from None
    when = _local_to_utc(callback_at, zone)
    if when <= timezone.now():
        local = when.astimezone(zoneinfo.ZoneInfo(zone))
        raise ValidationError({"callback_at": [
            f"{local:%a %-d %b %H:%M} in the contact's time ({zone}) has already passed: choose a later time."]})
    return when


def attempt_disposition(*, attempt: CallAttempt, agent: User, code: str, amount=None, notes: str = "",
                        callback_at: dt.datetime | str | None = None, callback_to: str = "me",
                        answers: dict | None = None, change: bool = False) -> CallAttempt:
    """The agent's disposition of a connected attempt, and what it means for the contact:

    - final (sale, appointment, not interested, …) and wrong number: the contact is done; an
      appointment set is the one booked on the script's appointment step (``_appointment``);
    - callback: booked at ``callback_at`` (a naive time is the contact's wall clock, see
      ``contact_zone``), to this agent (``callback_to="me"``) or to anyone;
    - do not call: the number is opted out through compliance (the client's DNC list: the
      gate refuses it from now on, on every campaign) and the contact is DNC;
    - other, not final: the contact waits for its next attempt (no-answer wait), or is
      exhausted when it has none left.

    Raises ValidationError ({field: [sentence]}) for an unknown code, a sale without a valid
    amount, a callback without a future time; nothing is written then.

    Idempotent: a second disposition of the same attempt (a double click, a retried
    message) keeps the first and changes nothing, unless ``change`` is asked for while the
    agent's call is still theirs (connected or in wrap-up): then the new one replaces it —
    except an opt-out, which stands (a person who said "do not call" is not put back on
    the list by a second click; the DNC list's own removal is for that).

    Then the call goes on to wrap-up as an inbound call does (``_wrap``)."""
    client = client_current()
    with transaction.atomic():
        attempt = CallAttempt.objects.select_for_update(of=("self",)).select_related("campaign").get(pk=attempt.pk)
        session = CallSession.objects.filter(client=client, attempt_id=attempt.pk).first()
        if attempt.agent_id not in (None, agent.pk) or (session is not None and session.agent_id != agent.pk):
            raise ValidationError({"code": ["This is not your call."]})
        disposition = Disposition.objects.filter(campaign=attempt.campaign_id, code=str(code or "")).first()
        if disposition is None:
            known = ", ".join(Disposition.objects.filter(campaign=attempt.campaign_id).values_list("code", flat=True))
            raise ValidationError({"code": [f"“{code}” is not a disposition of this campaign ({known})."]})
        if attempt.disposition_id is not None:
            still_theirs = session is not None and session.state in (CallSession.State.CONNECTED,
                                                                      CallSession.State.WRAP_UP)
            if not (change and still_theirs) or attempt.disposition.kind == Kind.DNC:
                return attempt
        contact = Contact.objects.select_for_update().get(pk=attempt.contact_id) if attempt.contact_id else None
        zone = contact_zone(contact, client) if contact else client.time_zone
        value = _amount(disposition.kind, amount)
        when = _callback(disposition.kind, callback_at, callback_to, zone)
        booked = _appointment(disposition.kind, attempt, session)
        attempt.disposition = disposition
        attempt.amount = value
        attempt.notes = str(notes or "")[:5000]
        attempt.answers = answers if isinstance(answers, dict) else attempt.answers
        if booked is not None:
            # "_": no script field can be named so (field names start with a letter or digit).
            attempt.answers = {**attempt.answers, "_appointment": booked}
        attempt.agent_id = agent.pk
        attempt.save(update_fields=["disposition", "amount", "notes", "answers", "agent_id"])
        if contact is not None:
            _contact_after(contact, attempt, disposition, when, callback_to, agent, client)
        if session is not None:
            _wrap(session, disposition)
            # A slot held on the step and not booked is free again once the call is closed.
            appointments.call_holds_release(session=session, by=agent.email)
    return attempt


def _appointment(kind: str, attempt: CallAttempt, session: CallSession | None) -> dict | None:
    """What "appointment set" records: the appointment booked on this call on the script's
    appointment step. Refused (ValidationError) when the script has such a step and nothing is
    booked on it; None for another disposition or a script without one (recorded as before)."""
    if kind != Kind.APPOINTMENT:
        return None
    version = None
    if session is not None and session.script_version_id:
        version = ScriptVersion.objects.filter(pk=session.script_version_id).first()
    elif attempt.campaign.script_id and attempt.campaign.script:
        version = attempt.campaign.script.current_version
    if version is None or not appointments.script_appointment_steps(version.definition):
        return None
    appointment = appointments.call_booked_appointment(
        call_sid=session.call_sid if session is not None else attempt.twilio_sid, definition=version.definition)
    if appointment is None:
        raise ValidationError({"code": ["Book the appointment on the script's appointment step first."]})
    return {"id": appointment.pk, "type": appointment.type.name, "calendar": appointment.calendar.name,
            "start": appointment.start.isoformat()}


def _contact_after(contact: Contact, attempt: CallAttempt, disposition: Disposition, when: dt.datetime | None,
                   callback_to: str, agent: User, client: Client) -> None:
    Status = Contact.Status
    contact.disposition = disposition
    contact.reserved_by = contact.reserved_until = None
    contact.callback_agent_id = None
    contact.next_attempt_at = None
    if disposition.kind == Kind.DNC:
        opt_out_record(client=client, number=str(contact.number), source=OptOutSource.AGENT,
                       added_by=f"agent {agent.email}",
                       reason=f"disposition “{disposition.label}” on campaign “{attempt.campaign.name}” "
                              f"(attempt {attempt.pk})")
        contact.status = Status.DNC
    elif disposition.kind == Kind.CALLBACK:
        contact.status = Status.CALLBACK
        contact.next_attempt_at = when
        contact.callback_agent_id = agent.pk if callback_to == "me" else None
    elif disposition.final or disposition.kind == Kind.WRONG_NUMBER:
        contact.status = Status.DONE
    elif contact.attempts >= attempt.campaign.max_attempts:
        contact.status = Status.EXHAUSTED
    else:  # not final and no time given: tried again after the campaign's no-answer wait
        contact.status = Status.RETRY
        contact.next_attempt_at = timezone.now() + dt.timedelta(minutes=attempt.campaign.retry_no_answer_minutes)
    contact.save(update_fields=["disposition", "status", "next_attempt_at", "callback_agent_id", "reserved_by",
                                "reserved_until", "updated"])


def _wrap(session: CallSession, disposition: Disposition) -> None:
    """The inbound console's finish, for a campaign call: the disposition goes on the call's
    record too (so the ACD sees the agent's work as done: ``calls._agent_work_left``), a call
    still connected is hung up, and a wrap-up that waited for the agent starts counting."""
    CallRecord.objects.filter(call_sid=session.call_sid).update(disposition=disposition.code[:40])
    if session.state == CallSession.State.CONNECTED:
        sid, account = session.call_sid, session.account_sid
        transaction.on_commit(lambda: _hang_up(sid, account))
    elif session.state == CallSession.State.WRAP_UP and session.wrap_up_until is None:
        acd.wrap_up_start(session_id=session.pk)


def _hang_up(call_sid: str, account_sid: str) -> None:
    try:
        gateway.get().call_end(call_sid, account_sid=account_sid)
    except gateway.GatewayError:  # the person hung up meanwhile: their status callback wraps up
        pass
