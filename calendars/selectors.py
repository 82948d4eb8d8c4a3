"""Reads of calendars: free slots (the pure engine ``calendars.slots`` over this client's
hours, exceptions, bookings and live holds), appointments. Inside the client's schema."""

from __future__ import annotations

import dataclasses
import datetime as dt

from django.db.models import F, FloatField, Func, Q
from django.utils import timezone

from calendars import slots
from calendars.models import Appointment, AppointmentType, Calendar, CalendarException, WorkingHours
from tenants.selectors import client_current

_FIRST_LOOK = dt.timedelta(days=7)
# The longest buffer any type may have: busy rows this far outside the horizon still matter.
_MARGIN = dt.timedelta(days=1)


def type_spec(type_: AppointmentType) -> slots.TypeSpec:
    minutes = dt.timedelta(minutes=1)
    return slots.TypeSpec(
        duration=type_.duration_minutes * minutes, buffer_before=type_.buffer_before_minutes * minutes,
        buffer_after=type_.buffer_after_minutes * minutes, step=type_.step_minutes * minutes,
        min_notice=type_.min_notice_minutes * minutes, horizon=dt.timedelta(days=type_.horizon_days),
        capacity=type_.capacity,
        arrival_window=type_.arrival_window_minutes * minutes if type_.arrival_window_minutes else None)


def calendar_zone(calendar: Calendar) -> str:
    return calendar.time_zone or client_current().time_zone


def _epoch(bound: str) -> Func:
    return Func(Func(F("blocked"), function=bound), template="extract(epoch FROM %(expressions)s)",
                output_field=FloatField())


def calendar_specs(calendars: list[Calendar], *, now: dt.datetime, until: dt.datetime,
                   ignore: list[int] = ()) -> list[slots.CalendarSpec]:
    """Each calendar's hours, exceptions and busy time (booked appointments and holds not yet
    expired, their buffers included) between ``now`` and ``until``: three queries for any
    number of calendars. ``ignore``: appointments not to count (the caller's own hold)."""
    ids = [c.pk for c in calendars]
    hours: dict[int, list] = {i: [] for i in ids}
    for h in WorkingHours.objects.filter(calendar_id__in=ids):
        hours[h.calendar_id].append(slots.WeeklyHours(h.weekday, h.start, h.end))
    exceptions: dict[int, list] = {i: [] for i in ids}
    for e in CalendarException.objects.filter(
            calendar_id__in=ids, date__gte=(now - _MARGIN).date(), date__lte=(until + _MARGIN).date()):
        exceptions[e.calendar_id].append(slots.DayException(e.date, e.start, e.end, e.available))
    busy: dict[int, list] = {i: [] for i in ids}
    live = Q(status=Appointment.Status.BOOKED) | Q(status=Appointment.Status.HELD, hold_expires_at__gt=now)
    # The bounds as epoch seconds: parsing hundreds of range literals (text) costs more than
    # the whole search (docs/figures.md).
    rows = (Appointment.objects.filter(live, calendar_id__in=ids, blocked__overlap=(now - _MARGIN, until + _MARGIN))
            .exclude(pk__in=list(ignore))
            .annotate(lo=_epoch("lower"), hi=_epoch("upper")).values_list("calendar_id", "lo", "hi"))
    for calendar_id, lo, hi in rows:
        busy[calendar_id].append(slots.Busy(dt.datetime.fromtimestamp(lo, dt.UTC), dt.datetime.fromtimestamp(hi, dt.UTC)))
    return [slots.CalendarSpec(c.pk, calendar_zone(c), hours[c.pk], exceptions[c.pk], busy[c.pk]) for c in calendars]


def appointment_slots(type_: AppointmentType, *, count: int = 10, after: dt.datetime | None = None,
                      now: dt.datetime | None = None, calendars: list[Calendar] | None = None,
                      ignore: list[int] = ()) -> list[slots.Slot]:
    """The next ``count`` free slots of ``type_`` across the calendars that offer it (or those
    given), soonest first."""
    now = now or timezone.now()
    spec = type_spec(type_)
    calendars = calendars if calendars is not None else list(type_.calendars.filter(active=True))
    if not calendars:
        return []
    # The first week first: the next free slots are nearly always in it, and reading a week's
    # bookings instead of the whole horizon's is most of the time saved. The whole horizon
    # only when the week does not have ``count`` of them (same answer: slots come in order).
    start = max(now, after) if after else now
    for reach in sorted({min(spec.horizon, start - now + _FIRST_LOOK), spec.horizon}):
        limited = dataclasses.replace(spec, horizon=reach)
        specs = calendar_specs(calendars, now=now, until=now + reach, ignore=ignore)
        found = slots.next_free_slots(limited, specs, now=now, count=count, after=after)
        if len(found) >= count:
            break
    return found


def appointments_between(start: dt.datetime, end: dt.datetime, *, calendars: list[int] | None = None):
    """Booked (and held) appointments overlapping [start, end), with their calendar and type."""
    rows = (Appointment.objects.filter(status__in=[Appointment.Status.BOOKED, Appointment.Status.HELD],
                                       start__lt=end, end__gt=start)
            .select_related("calendar", "type").order_by("start"))
    if calendars is not None:
        rows = rows.filter(calendar_id__in=calendars)
    return rows
