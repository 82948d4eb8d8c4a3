"""Holding, booking, rescheduling and cancelling appointments, with no double booking.

Run inside the client's schema. PostgreSQL decides every race: the exclusion constraint
``appointment_no_overlap`` refuses a second held or booked row whose blocked time overlaps
on the same calendar, so of twenty agents booking one slot at the same instant exactly one
commits; the others get ``SlotTaken`` with the next free slots to offer instead. A hold is
such a row too, with an expiry: whoever books over an expired hold clears it first, in the
same transaction, and the sweep clears the rest — a hold expires by itself.
"""

from __future__ import annotations

import datetime as dt

from django.db import IntegrityError, transaction
from django.db.backends.postgresql.psycopg_any import DateTimeTZRange
from django.db.models import Q
from django.utils import timezone

from calendars import selectors
from calendars.models import Appointment, AppointmentEvent, AppointmentType, BusyTime, Calendar
from calendars.services.changes import appointment_changed

HOLD_MINUTES = 5  # long enough for a caller to decide, short enough not to hide a slot for long
S = Appointment.Status


class BookingRefused(Exception):
    """The booking cannot be made as asked; the message says why, for a person."""


class SlotTaken(BookingRefused):
    """Someone else took the slot first: here are the next free ones."""

    def __init__(self, alternatives: list):
        self.alternatives = alternatives
        super().__init__("Just taken — here are the next free slots." if alternatives
                         else "Just taken, and nothing else is free in the horizon.")


def _instant(start: dt.datetime) -> dt.datetime:
    """A start as a UTC instant: arithmetic on a local aware time runs on the wall clock (and
    loses the fold of a repeated hour), so every service works in UTC from its first line."""
    if start.tzinfo is None:
        raise BookingRefused("A start needs its time zone.")
    return start.astimezone(dt.UTC)


def _times(type_: AppointmentType, start: dt.datetime) -> dict:
    """An appointment's fields from its start: its end, an arrival window's end, and the time it
    blocks — from the buffer before it to the buffer after its latest possible end (for field
    service: the window's end plus the visit's duration)."""
    minutes = dt.timedelta(minutes=1)
    duration = type_.duration_minutes * minutes
    window_end = start + type_.arrival_window_minutes * minutes if type_.arrival_window_minutes else None
    end = start + duration
    latest_end = (window_end or start) + duration
    blocked = DateTimeTZRange(start - type_.buffer_before_minutes * minutes,
                              latest_end + type_.buffer_after_minutes * minutes, "[)")
    return {"start": start, "end": end, "window_end": window_end, "blocked": blocked}


def _offered(type_: AppointmentType, calendar: Calendar, start: dt.datetime, now: dt.datetime,
             ignore: list[int] = ()) -> bool:
    """Is ``start`` a slot the search offers now (hours, exceptions, notice, horizon, buffers)?"""
    found = selectors.appointment_slots(type_, count=1, after=start - dt.timedelta(microseconds=1), now=now,
                                        calendars=[calendar], ignore=ignore)
    return bool(found) and found[0].start == start


def _alternatives(type_: AppointmentType, after: dt.datetime, now: dt.datetime) -> list:
    return selectors.appointment_slots(type_, count=3, after=after, now=now)


def _event(appointment: Appointment, kind: str, by: str, detail: str = "", **data) -> None:
    """The history's entry, and what the change sets off (notices, the portal's live pages)."""
    AppointmentEvent.objects.create(appointment=appointment, kind=kind, by=by[:200], detail=detail[:300], data=data)
    appointment_changed(appointment, kind)


def _clear_expired_holds(calendar: Calendar, blocked: DateTimeTZRange, now: dt.datetime) -> None:
    for hold in Appointment.objects.filter(calendar=calendar, status=S.HELD, hold_expires_at__lte=now,
                                           blocked__overlap=blocked):
        Appointment.objects.filter(pk=hold.pk, status=S.HELD).update(status=S.RELEASED)
        _event(hold, "hold_expired", "the calendar", "The hold ran out.")


def _check_type(type_: AppointmentType, calendar: Calendar) -> None:
    if not type_.active:
        raise BookingRefused(f"“{type_.name}” is not booked any more.")
    if not type_.calendars.filter(pk=calendar.pk).exists():
        raise BookingRefused(f"{calendar.name} does not offer “{type_.name}”.")


def _seat(type_: AppointmentType, calendar: Calendar, start: dt.datetime, blocked: DateTimeTZRange,
          now: dt.datetime, ignore: list[int] = ()) -> int | None:
    """The seat a group session's booking takes (None for a type that takes the calendar).

    Seat picking is serialised per calendar by locking its row, so two callers never pick the
    same seat; the exclusion constraint still refuses, on its own, a second row on one seat and
    any ordinary booking over a session. What it cannot see — another session overlapping this
    one on different seats — is checked here, under the same lock."""
    if type_.capacity <= 1:
        return None
    Calendar.objects.select_for_update().filter(pk=calendar.pk).first()
    live = Q(status=S.BOOKED) | Q(status=S.HELD, hold_expires_at__gt=now)
    overlapping = (Appointment.objects.filter(live, calendar=calendar, blocked__overlap=blocked)
                   .exclude(pk__in=list(ignore)).values_list("type_id", "start", "seat"))
    taken = set()
    for type_id, other_start, seat in overlapping:
        if seat is None or type_id != type_.pk or other_start != start:
            raise SlotTaken(_alternatives(type_, start, now))
        taken.add(seat)
    free = [n for n in range(type_.capacity) if n not in taken]
    if not free:
        raise SlotTaken(_alternatives(type_, start, now))
    return free[0]


def slot_hold(*, type_: AppointmentType, calendar: Calendar, start: dt.datetime, by: str,
              minutes: int = HOLD_MINUTES, call_sid: str = "") -> Appointment:
    """Hold a slot while the caller decides: nobody else is offered it until the hold is booked,
    released, or runs out. ``SlotTaken`` if it went meanwhile."""
    start = _instant(start)
    now = timezone.now()
    _check_type(type_, calendar)
    if not _offered(type_, calendar, start, now):
        raise SlotTaken(_alternatives(type_, start, now))
    times = _times(type_, start)
    try:
        with transaction.atomic():
            _clear_expired_holds(calendar, times["blocked"], now)
            seat = _seat(type_, calendar, start, times["blocked"], now)
            hold = Appointment.objects.create(calendar=calendar, type=type_, status=S.HELD, held_by=by[:200], seat=seat,
                                              hold_expires_at=now + dt.timedelta(minutes=minutes), call_sid=call_sid,
                                              **times)
            _event(hold, "held", by, f"Held for {minutes} minutes.")
    except IntegrityError as exc:
        _raise_if_not_overlap(exc)
        raise SlotTaken(_alternatives(type_, start, now)) from exc
    return hold


def slot_release(*, hold: Appointment, by: str) -> bool:
    """The caller chose otherwise: the slot is free again at once."""
    with transaction.atomic():
        released = Appointment.objects.filter(pk=hold.pk, status=S.HELD).update(status=S.RELEASED)
        if released:
            _event(hold, "released", by, "Hold released.")
    return bool(released)


def appointment_book(*, type_: AppointmentType, calendar: Calendar, start: dt.datetime, by: str, name: str = "",
                     phone: str = "", email: str = "", answers: dict | None = None, call_sid: str = "",
                     hold: Appointment | None = None) -> Appointment:
    """Book ``start`` on ``calendar``. With ``hold`` (the caller's own, not run out), the hold
    becomes the booking; otherwise the slot must be free. ``SlotTaken`` (with alternatives)
    when another booking or hold got there first; ``BookingRefused`` when the time is not a
    slot of this type (outside hours, too soon, too far)."""
    start = _instant(start)
    now = timezone.now()
    _check_type(type_, calendar)
    own = [hold.pk] if hold is not None else []
    if not _offered(type_, calendar, start, now, ignore=own):
        if _offered(type_, calendar, start, now, ignore=[a.pk for a in _blocking_at(calendar, type_, start)]):
            raise SlotTaken(_alternatives(type_, start, now))
        blocked = _times(type_, start)["blocked"]
        if BusyTime.objects.filter(calendar=calendar, start__lt=blocked.upper, end__gt=blocked.lower).exists():
            raise BookingRefused(f"{calendar.name} is busy then in the client's own calendar.")
        raise BookingRefused("That time is not bookable: outside the calendar's hours, too soon or too far ahead.")
    times = _times(type_, start)
    fields = {"status": S.BOOKED, "name": name[:200], "phone": phone, "email": email, "answers": answers or {},
              "call_sid": call_sid[:64] or (hold.call_sid if hold else ""), "booked_by": by[:200],
              "hold_expires_at": None}
    try:
        with transaction.atomic():
            _clear_expired_holds(calendar, times["blocked"], now)
            if hold is not None and hold.calendar_id == calendar.pk and hold.start == start and hold.type_id == type_.pk:
                seat = hold.seat  # the hold's seat is the booking's
            else:
                seat = _seat(type_, calendar, start, times["blocked"], now, ignore=own)
            if hold is not None:
                # The row the constraint already counts becomes the booking: no instant in which
                # the slot is free for someone else.
                updated = Appointment.objects.filter(pk=hold.pk, status=S.HELD, hold_expires_at__gt=now).update(
                    calendar=calendar, type=type_, seat=seat, **times, **fields)
                if not updated:
                    raise BookingRefused("The hold ran out; hold the slot again or pick another.")
                appointment = Appointment.objects.get(pk=hold.pk)
            else:
                appointment = Appointment.objects.create(calendar=calendar, type=type_, seat=seat, **times, **fields)
            _event(appointment, "booked", by, f"{type_.name} with {calendar.name}.")
    except IntegrityError as exc:
        _raise_if_not_overlap(exc)
        raise SlotTaken(_alternatives(type_, start, now)) from exc
    return appointment


def _blocking_at(calendar: Calendar, type_: AppointmentType, start: dt.datetime) -> list[Appointment]:
    blocked = _times(type_, start)["blocked"]
    return list(Appointment.objects.filter(calendar=calendar, status__in=Appointment.BLOCKING,
                                           blocked__overlap=blocked))


def _raise_if_not_overlap(exc: IntegrityError) -> None:
    if "appointment_no_overlap" not in str(exc):
        raise exc


def appointment_reschedule(*, appointment: Appointment, start: dt.datetime, by: str, reason: str = "",
                           calendar: Calendar | None = None) -> Appointment:
    """Move a booking to another time (or calendar); the history keeps where it was and why.
    ``SlotTaken`` when the new time went to someone else."""
    start = _instant(start)
    now = timezone.now()
    calendar = calendar or appointment.calendar
    type_ = appointment.type
    _check_type(type_, calendar)
    if appointment.status != S.BOOKED:
        raise BookingRefused("Only a booked appointment can be moved.")
    if not _offered(type_, calendar, start, now, ignore=[appointment.pk]):
        raise SlotTaken(_alternatives(type_, start, now))
    before = {"start": appointment.start.isoformat(), "calendar": appointment.calendar_id}
    times = _times(type_, start)
    try:
        with transaction.atomic():
            _clear_expired_holds(calendar, times["blocked"], now)
            seat = _seat(type_, calendar, start, times["blocked"], now, ignore=[appointment.pk])
            Appointment.objects.filter(pk=appointment.pk, status=S.BOOKED).update(calendar=calendar, seat=seat, **times)
            appointment.refresh_from_db()
            _event(appointment, "rescheduled", by, reason or "Moved.", before=before,
                   after={"start": start.isoformat(), "calendar": calendar.pk})
    except IntegrityError as exc:
        _raise_if_not_overlap(exc)
        raise SlotTaken(_alternatives(type_, start, now)) from exc
    return appointment


def appointment_cancel(*, appointment: Appointment, by: str, reason: str) -> Appointment:
    """Cancel with a reason (kept in the history); the time is free again at once."""
    if not reason.strip():
        raise BookingRefused("Say why it is cancelled.")
    with transaction.atomic():
        if Appointment.objects.filter(pk=appointment.pk, status=S.BOOKED).update(status=S.CANCELLED):
            _event(appointment, "cancelled", by, reason)
    appointment.refresh_from_db()
    return appointment


def holds_expire(*, now: dt.datetime | None = None) -> int:
    """Release every hold that ran out (the beat; bookings clear the ones in their way)."""
    now = now or timezone.now()
    expired = 0
    for hold in Appointment.objects.filter(status=S.HELD, hold_expires_at__lte=now):
        if Appointment.objects.filter(pk=hold.pk, status=S.HELD).update(status=S.RELEASED):
            _event(hold, "hold_expired", "the calendar", "The hold ran out.")
            expired += 1
    return expired


MARKS = {S.DONE: "done", S.NO_SHOW: "no_show"}


def appointment_mark(*, appointment: Appointment, status: str, by: str) -> Appointment:
    """Mark an appointment that has started as done or a no-show (or correct one mark to the
    other); the history keeps who and from what. ``BookingRefused`` before its start, or for
    a cancelled or released one."""
    if status not in MARKS:
        raise BookingRefused("Mark it done or a no-show.")
    if appointment.start > timezone.now():
        raise BookingRefused("It has not started yet: mark it once it has.")
    with transaction.atomic():
        before = appointment.status
        if Appointment.objects.filter(pk=appointment.pk, status__in=[S.BOOKED, S.DONE, S.NO_SHOW]).exclude(
                status=status).update(status=status):
            appointment.refresh_from_db()
            _event(appointment, MARKS[status], by, f"Marked {appointment.get_status_display().lower()}.",
                   before=before)
        else:
            appointment.refresh_from_db()
            if appointment.status not in (S.DONE, S.NO_SHOW):
                raise BookingRefused("Only a booked appointment can be marked done or a no-show.")
    return appointment
