"""Booking on a call: the script step of kind "appointment". In the call's client schema.

The verbs are the calendar's (``calendars.services.booking``): this module ties them to the
call — the step's types, the slots offered in the caller's terms (the calendar's local time
and zone, arrival windows as "between 8:00 and 10:00 AM"), the one hold a call has while the
caller decides, the booking with the type's intake fields, and what a hang-up means: a call
that is no longer connected holds nothing and books nothing (its holds are released at its
next appointment action; one left behind runs out by itself within ``HOLD_MINUTES``).
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from typing import Any

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone

from answering.acd import services as acd
from answering.acd.models import CallSession
from answering.scripts.answers import field_clean
from calendars import selectors as calendar_selectors
from calendars.models import Appointment, AppointmentType, Calendar
from calendars.services.booking import (
    HOLD_MINUTES,
    BookingRefused,
    SlotTaken,
    appointment_book,
    slot_hold,
    slot_release,
)
from tenants.phone import to_e164

OFFERED = 6  # slots on one page: enough to choose from, few enough to read out
S = Appointment.Status


class AppointmentRefused(Exception):
    """The step cannot do what was asked; the message says why, for the agent."""


def _agent_by(agent) -> str:
    return agent.email


def appointment_step(*, session: CallSession, step: str) -> dict:
    """The appointment step ``step`` of the script version the call is guided by."""
    version = acd.call_script_pin(session)
    if version is None:
        raise AppointmentRefused("This call has no script.")
    found = next((s for s in version.definition["steps"] if s["key"] == step), None)
    if found is None or found.get("kind") != "appointment":
        raise AppointmentRefused("That step of this call's script does not book appointments.")
    return found


def script_appointment_steps(definition: dict) -> list[dict]:
    """The appointment steps of a script version's definition."""
    return [s for s in definition["steps"] if s.get("kind") == "appointment"]


def _types(step: dict) -> list[AppointmentType]:
    """The step's types the client still books, in the step's order."""
    names = step.get("appointment_types") or []
    found = {t.name: t for t in AppointmentType.objects.filter(name__in=names, active=True)}
    return [found[n] for n in names if n in found]


def _type(step: dict, name: str) -> AppointmentType:
    types = _types(step)
    if not types:
        raise AppointmentRefused("None of this step's appointment types is booked any more: take a message instead.")
    if not name:
        return types[0]
    chosen = next((t for t in types if t.name == name), None)
    if chosen is None:
        raise AppointmentRefused(f"This step does not offer “{name}”; choose {' or '.join(t.name for t in types)}.")
    return chosen


def _step_rows(session: CallSession, step: dict):
    return Appointment.objects.filter(call_sid=session.call_sid, type__name__in=step.get("appointment_types") or [])


def call_holds(session: CallSession) -> list[Appointment]:
    """The call's live holds (any step)."""
    return list(Appointment.objects.filter(call_sid=session.call_sid, status=S.HELD,
                                           hold_expires_at__gt=timezone.now()).select_related("type", "calendar"))


def call_holds_release(*, session: CallSession, by: str) -> int:
    """Free every slot the call holds (the caller hung up, the agent finished): at once, for
    everyone else. Booked appointments stay booked. Returns how many were released."""
    released = 0
    for hold in Appointment.objects.filter(call_sid=session.call_sid, status=S.HELD):
        released += slot_release(hold=hold, by=by)
    return released


def _refuse_if_gone(session: CallSession, agent) -> None:
    """A call no longer connected books nothing: the caller cannot say yes any more."""
    if session.state != CallSession.State.CONNECTED:
        released = call_holds_release(session=session, by=_agent_by(agent))
        what = "The caller hung up" if session.caller_hung_up else "The call has ended"
        raise AppointmentRefused(f"{what}: nothing was booked" + (" and the held slot is free again." if released
                                                                     else "."))


# --- What the console shows --------------------------------------------------------------------

def _clock(moment: dt.datetime) -> str:
    return moment.strftime("%-I:%M %p")


def slot_words(*, start: dt.datetime, zone: str, window_end: dt.datetime | None = None) -> dict:
    """A time as the caller understands it: in the calendar's own zone, saying which, and an
    arrival window as "between 8:00 and 10:00 AM"."""
    tz = zoneinfo.ZoneInfo(zone)
    local = start.astimezone(tz)
    day = local.strftime("%a %-d %b")
    abbreviation = local.strftime("%Z")
    if window_end is not None:
        until = window_end.astimezone(tz)
        first = _clock(local)
        if local.strftime("%p") == until.strftime("%p"):
            first = first.rsplit(" ", 1)[0]  # "between 8:00 and 10:00 AM", not "8:00 AM and 10:00 AM"
        time = f"between {first} and {_clock(until)}"
    else:
        time = _clock(local)
    return {"day": day, "time": time, "zone": zone, "zone_label": abbreviation,
            "label": f"{day}, {time} {abbreviation}", "window": window_end is not None}


def _slot_payload(slot, calendars: dict[int, Calendar], held: Appointment | None) -> dict:
    calendar = calendars[slot.calendar_id]
    zone = calendar_selectors.calendar_zone(calendar)
    return {"calendar": calendar.pk, "calendar_name": calendar.name, "start": slot.start.isoformat(),
            **slot_words(start=slot.start, zone=zone, window_end=slot.window_end),
            "held": bool(held and held.calendar_id == slot.calendar_id and held.start == slot.start)}


def hold_payload(hold: Appointment | None) -> dict | None:
    if hold is None:
        return None
    zone = calendar_selectors.calendar_zone(hold.calendar)
    return {"id": hold.pk, "type": hold.type.name, "calendar": hold.calendar_id, "calendar_name": hold.calendar.name,
            "start": hold.start.isoformat(), "expires_at": hold.hold_expires_at.isoformat(),
            **slot_words(start=hold.start, zone=zone, window_end=hold.window_end)}


def booked_payload(appointment: Appointment | None) -> dict | None:
    """What the step keeps showing once booked."""
    if appointment is None:
        return None
    zone = calendar_selectors.calendar_zone(appointment.calendar)
    return {"id": appointment.pk, "type": appointment.type.name, "calendar": appointment.calendar_id,
            "calendar_name": appointment.calendar.name, "start": appointment.start.isoformat(),
            "name": appointment.name, "phone": str(appointment.phone or ""), "email": appointment.email,
            "answers": appointment.answers,
            **slot_words(start=appointment.start, zone=zone, window_end=appointment.window_end)}


def _type_payload(type_: AppointmentType) -> dict:
    return {"name": type_.name, "duration_minutes": type_.duration_minutes,
            "arrival_window_minutes": type_.arrival_window_minutes,
            "intake": [{"name": str(f.get("name", "")), "label": str(f.get("label") or f.get("name", "")),
                        "type": str(f.get("type") or "text"), "required": bool(f.get("required")),
                        "options": [str(o) for o in f.get("options") or []]}
                       for f in type_.intake_fields or [] if isinstance(f, dict) and f.get("name")]}


def _after(after: Any) -> tuple[dt.datetime, int] | None:
    """The last slot of the page before ("later"), as the console sends it back."""
    if not after:
        return None
    try:
        start = dt.datetime.fromisoformat(str(after.get("start")))
        calendar = int(after.get("calendar") or 0)
    except (AttributeError, TypeError, ValueError):
        raise AppointmentRefused("That page of slots is out of date: ask for the slots again.") from None
    if timezone.is_naive(start):
        raise AppointmentRefused("That page of slots is out of date: ask for the slots again.")
    return start, calendar


def call_appointment_offer(*, session: CallSession, agent, step: str, type_name: str = "", after: Any = None,
                           count: int = OFFERED) -> dict:
    """What the appointment step shows: the types it offers, the next ``count`` free slots of
    the chosen one across its calendars (after the page before, for "later"), the slot this
    call holds (still offered to it, to nobody else) and what it booked on this step.
    A call no longer connected releases its holds here, and says so."""
    current = appointment_step(session=session, step=step)
    booked = (_step_rows(session, current).filter(status=S.BOOKED).select_related("type", "calendar")
              .order_by("-created").first())
    types = _types(current)
    reply = {"type": "appointment_slots", "call": session.pk, "step": step,
             "types": [_type_payload(t) for t in types], "chosen": "", "slots": [], "more": False,
             "hold": None, "booked": booked_payload(booked), "message": "", "hold_minutes": HOLD_MINUTES}
    if session.state != CallSession.State.CONNECTED:
        released = call_holds_release(session=session, by=_agent_by(agent))
        reply["message"] = ("The caller hung up" if session.caller_hung_up else "The call has ended") + (
            ": the held slot is free again; nothing was booked." if released else ".")
        return reply
    if booked is not None:
        return reply
    if not types:
        reply["message"] = "None of this step's appointment types is booked any more: take a message instead."
        return reply
    type_ = _type(current, type_name)
    holds = [h for h in call_holds(session) if h.type_id == type_.pk]
    hold = holds[0] if holds else None
    last = _after(after)
    calendars = {c.pk: c for c in type_.calendars.filter(active=True)}
    # The call's own hold stays on its list (marked), so the choice does not vanish from under
    # the agent; every other console's search counts it as busy.
    found = calendar_selectors.appointment_slots(type_, count=count + len(calendars) + 1, after=last[0] if last else None,
                                                 calendars=list(calendars.values()), ignore=[h.pk for h in holds])
    if last:
        found = [s for s in found if (s.start, s.calendar_id) > last]
    reply.update(chosen=type_.name, slots=[_slot_payload(s, calendars, hold) for s in found[:count]],
                 more=len(found) > count, hold=hold_payload(hold))
    if not found:
        reply["message"] = f"No free “{type_.name}” slot in the next {type_.horizon_days} days."
    return reply


def taken_payload(*, session: CallSession, step: str, exc: SlotTaken, hold: Appointment | None = None) -> dict:
    """“Just taken — here are the next free slots”, with those slots."""
    ids = {s.calendar_id for s in exc.alternatives}
    calendars = {c.pk: c for c in Calendar.objects.filter(pk__in=ids)}
    return {"type": "appointment_taken", "call": session.pk, "step": step, "message": str(exc),
            "alternatives": [_slot_payload(s, calendars, hold) for s in exc.alternatives]}


# --- The verbs ------------------------------------------------------------------------------------

def call_appointment_hold(*, session: CallSession, agent, step: str, type_name: str, calendar_id: int,
                          start: dt.datetime) -> Appointment:
    """Hold the slot the caller leans to (``HOLD_MINUTES``, by the agent, on this call): nobody
    else is offered it. The call's previous hold is released in the same transaction, so a
    call holds one slot at most — and keeps its previous one when this one was just taken
    (``SlotTaken``, with the next free slots)."""
    current = appointment_step(session=session, step=step)
    _refuse_if_gone(session, agent)
    type_ = _type(current, type_name)
    calendar = type_.calendars.filter(pk=calendar_id, active=True).first()
    if calendar is None:
        raise AppointmentRefused(f"That calendar does not offer “{type_.name}”: pick one of the slots shown.")
    with transaction.atomic():
        # Released first: the new slot may overlap the old one on the same calendar.
        for hold in Appointment.objects.filter(call_sid=session.call_sid, status=S.HELD):
            slot_release(hold=hold, by=_agent_by(agent))
        return slot_hold(type_=type_, calendar=calendar, start=start, by=_agent_by(agent),
                         minutes=HOLD_MINUTES, call_sid=session.call_sid)


def _person_clean(*, session: CallSession, name: Any, phone: Any, email: Any, answers: dict,
                  type_: AppointmentType) -> tuple[dict, dict]:
    """Who the appointment is for and the type's intake, cleaned: the values, and the errors
    by field ("name", "phone", "email", "answers.<intake field>")."""
    errors: dict[str, list[str]] = {}
    person: dict[str, Any] = {"name": str(name or "").strip()[:200]}
    if not person["name"]:
        errors["name"] = ["Whose appointment is it? Enter the name."]
    # The caller's own number unless another is given: on a campaign call, the person called.
    own = session.to_number if session.direction == CallSession.Direction.OUTBOUND else session.from_number
    raw_phone = str(phone or "").strip() or str(own or "")
    try:
        person["phone"] = to_e164(raw_phone) if raw_phone else ""
    except ValidationError as exc:
        errors["phone"] = [f"“{raw_phone}”: {' '.join(exc.messages)}"]
    if not raw_phone:
        errors["phone"] = ["A number to reach them at is needed (confirmations and reminders go to it)."]
    person["email"] = str(email or "").strip()[:254]
    if person["email"]:
        try:
            validate_email(person["email"])
        except ValidationError:
            errors["email"] = [f"“{person['email']}” is not an email address."]
    values: dict[str, Any] = {}
    for spec in _type_payload(type_)["intake"]:
        try:
            value = field_clean(spec, answers.get(spec["name"]), time_zone=session.client.time_zone)
        except ValidationError as exc:
            errors[f"answers.{spec['name']}"] = [f"{spec['label']}: {' '.join(exc.messages)}"]
            continue
        if value is None:
            if spec["required"]:
                errors[f"answers.{spec['name']}"] = [f"{spec['label']}: this answer is required."]
            continue
        values[spec["name"]] = value
    return {**person, "answers": values}, errors


def call_appointment_book(*, session: CallSession, agent, step: str, hold_id: int | None, name: Any = "",
                          phone: Any = "", email: Any = "", answers: dict | None = None) -> Appointment:
    """Book the slot this call holds, with the caller's name, number (the caller's own unless
    another is given), email and the type's intake answers (``ValidationError`` by field, nothing
    written). Exactly once: a second Book on the step returns the booking made. A hold that ran
    out is booked if the slot is still free, else ``SlotTaken`` with the next free slots.
    A call no longer connected books nothing (``AppointmentRefused``; its hold is released)."""
    current = appointment_step(session=session, step=step)
    done = _step_rows(session, current).filter(status=S.BOOKED).order_by("-created").first()
    if done is not None:
        return done
    _refuse_if_gone(session, agent)
    hold = (Appointment.objects.filter(pk=hold_id or 0, call_sid=session.call_sid, status=S.HELD)
            .select_related("type", "calendar").first())
    if hold is None or hold.type.name not in (current.get("appointment_types") or []):
        raise ValidationError({"slot": ["Pick a slot first: it is held for the caller while you take the details."]})
    cleaned, errors = _person_clean(session=session, name=name, phone=phone, email=email, answers=answers or {},
                                    type_=hold.type)
    if errors:
        raise ValidationError(errors)
    live = hold if hold.hold_expires_at and hold.hold_expires_at > timezone.now() else None
    try:
        return appointment_book(type_=hold.type, calendar=hold.calendar, start=hold.start, by=_agent_by(agent),
                                call_sid=session.call_sid, hold=live, **cleaned)
    except BookingRefused as exc:
        if isinstance(exc, SlotTaken):
            raise
        # A double click: the other Book turned the hold into the booking a moment ago.
        done = _step_rows(session, current).filter(status=S.BOOKED).order_by("-created").first()
        if done is not None:
            return done
        raise AppointmentRefused(str(exc)) from exc


def call_booked_appointment(*, call_sid: str, definition: dict) -> Appointment | None:
    """The appointment booked on the call on one of the script's appointment steps, if any."""
    names = [n for s in script_appointment_steps(definition) for n in s.get("appointment_types") or []]
    if not call_sid or not names:
        return None
    return (Appointment.objects.filter(call_sid=call_sid, status=S.BOOKED, type__name__in=names)
            .select_related("type", "calendar").order_by("-created").first())
