"""Reads of calendars: free slots (the pure engine ``calendars.slots`` over this client's
hours, exceptions, bookings and live holds), appointments. Inside the client's schema."""

from __future__ import annotations

import dataclasses
import datetime as dt
import zoneinfo

from django.db.models import Count, F, FloatField, Func, Q
from django.utils import timezone

from calendars import slots
from calendars.models import Appointment, AppointmentType, BusyTime, Calendar, CalendarException, WorkingHours
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
        capacity=type_.capacity, id=type_.pk,
        arrival_window=type_.arrival_window_minutes * minutes if type_.arrival_window_minutes else None)


def calendar_zone(calendar: Calendar) -> str:
    return calendar.time_zone or client_current().time_zone


def _epoch(bound: str) -> Func:
    return Func(Func(F("blocked"), function=bound), template="extract(epoch FROM %(expressions)s)",
                output_field=FloatField())


def _epoch_of(field: str) -> Func:
    return Func(F(field), template="extract(epoch FROM %(expressions)s)", output_field=FloatField())


def calendar_specs(calendars: list[Calendar], *, now: dt.datetime, until: dt.datetime,
                   ignore: list[int] = ()) -> list[slots.CalendarSpec]:
    """Each calendar's hours, exceptions and busy time (booked appointments and holds not yet
    expired, their buffers included, and the busy times imported from the client's own
    calendar) between ``now`` and ``until``: four queries for any number of calendars.
    ``ignore``: appointments not to count (the caller's own hold)."""
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
            .annotate(lo=_epoch("lower"), hi=_epoch("upper"))
            .values_list("calendar_id", "lo", "hi", "seat", "type_id", "start"))
    for calendar_id, lo, hi, seat, type_id, start in rows:
        busy[calendar_id].append(slots.Busy(dt.datetime.fromtimestamp(lo, dt.UTC), dt.datetime.fromtimestamp(hi, dt.UTC),
                                            session=(type_id, start) if seat is not None else None))
    # Busy time imported from the client's own calendar: never offered (a whole-calendar Busy,
    # no seat), though not under the exclusion constraint: it is advisory. Epoch seconds again.
    imported = (BusyTime.objects.filter(calendar_id__in=ids, start__lt=until + _MARGIN, end__gt=now - _MARGIN)
                .annotate(lo=_epoch_of("start"), hi=_epoch_of("end")).values_list("calendar_id", "lo", "hi"))
    for calendar_id, lo, hi in imported:
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


# --- The portal's day and week views (portal/calendars.py) ------------------------------------
# Each column is one local day of one calendar, drawn in real time: a day with a daylight-saving
# change is 23 or 25 hours long, so positions are fractions of the day's real length.

SHOWN = (Appointment.Status.BOOKED, Appointment.Status.HELD, Appointment.Status.DONE, Appointment.Status.NO_SHOW)


@dataclasses.dataclass
class Placed:
    """An appointment in a day column: ``top`` and ``height`` in percent of the day's real length."""

    appointment: Appointment
    top: float
    height: float
    label: str  # its local times: "09:00–10:00", or the arrival window "arrives 08:00–10:00"
    held: bool


@dataclasses.dataclass
class DayColumn:
    calendar: Calendar
    date: dt.date
    zone: str
    start: dt.datetime  # local midnight, as an instant
    end: dt.datetime  # the next local midnight
    hours: float  # 23, 24 or 25 on daylight-saving days
    ticks: list[tuple[float, str]]  # (top %, local wall time) of each real hour
    open: list[tuple[float, float]]  # working time: (top %, height %)
    appointments: list[Placed]


def _local_midnight(day: dt.date, zone: zoneinfo.ZoneInfo) -> dt.datetime:
    # A zone whose clocks skip midnight itself (rare, e.g. America/Havana) starts the day at
    # the first wall time that exists: zoneinfo maps the missing 00:00 past the gap.
    return dt.datetime.combine(day, dt.time(0), tzinfo=zone).astimezone(dt.UTC)


def _percent(part: dt.timedelta, whole: dt.timedelta) -> float:
    return round(100 * part / whole, 3)


def _times_label(appointment: Appointment, zone: zoneinfo.ZoneInfo) -> str:
    start = appointment.start.astimezone(zone)
    if appointment.window_end:
        return f"arrives {start:%H:%M}–{appointment.window_end.astimezone(zone):%H:%M}"
    return f"{start:%H:%M}–{appointment.end.astimezone(zone):%H:%M}"


def calendar_days(calendars: list[Calendar], first: dt.date, days: int, *,
                  now: dt.datetime | None = None) -> dict[int, list[DayColumn]]:
    """Each calendar's local days ``first`` … ``first + days - 1``: working time shaded, and its
    booked, done and no-show appointments and live holds placed by their real times (field
    service: the arrival window). Three queries for any number of calendars and days."""
    now = now or timezone.now()
    ids = [c.pk for c in calendars]
    last = first + dt.timedelta(days=days - 1)
    hours: dict[int, list] = {i: [] for i in ids}
    for h in WorkingHours.objects.filter(calendar_id__in=ids):
        hours[h.calendar_id].append(slots.WeeklyHours(h.weekday, h.start, h.end))
    exceptions: dict[int, list] = {i: [] for i in ids}
    for e in CalendarException.objects.filter(calendar_id__in=ids, date__gte=first - dt.timedelta(days=1),
                                              date__lte=last):
        exceptions[e.calendar_id].append(slots.DayException(e.date, e.start, e.end, e.available))
    zones = {c.pk: calendar_zone(c) for c in calendars}
    bounds = {c.pk: (_local_midnight(first, zoneinfo.ZoneInfo(zones[c.pk])),
                     _local_midnight(last + dt.timedelta(days=1), zoneinfo.ZoneInfo(zones[c.pk]))) for c in calendars}
    placed: dict[int, list[Appointment]] = {i: [] for i in ids}
    if ids:
        lo, hi = min(b[0] for b in bounds.values()), max(b[1] for b in bounds.values())
        live = Q(status__in=[s for s in SHOWN if s != Appointment.Status.HELD]) | Q(
            status=Appointment.Status.HELD, hold_expires_at__gt=now)
        for a in (Appointment.objects.filter(live, calendar_id__in=ids, start__lt=hi)
                  .filter(Q(end__gt=lo) | Q(window_end__gt=lo)).select_related("type").order_by("start", "pk")):
            placed[a.calendar_id].append(a)
    out: dict[int, list[DayColumn]] = {}
    for calendar in calendars:
        zone = zoneinfo.ZoneInfo(zones[calendar.pk])
        spec = slots.CalendarSpec(calendar.pk, zones[calendar.pk], hours[calendar.pk], exceptions[calendar.pk])
        working = slots.working_instants(spec, first, last)
        columns = []
        for n in range(days):
            day = first + dt.timedelta(days=n)
            start, end = _local_midnight(day, zone), _local_midnight(day + dt.timedelta(days=1), zone)
            length = end - start
            ticks, t = [], start
            while t < end:
                local = t.astimezone(zone)
                ticks.append((_percent(t - start, length), f"{local:%H:%M}" + (" (again)" if local.fold else "")))
                t += dt.timedelta(hours=1)
            shaded = [(_percent(max(a, start) - start, length), _percent(min(b, end) - max(a, start), length))
                      for a, b in working if a < end and b > start]
            shown = []
            for a in placed[calendar.pk]:
                a_end = a.window_end or a.end  # field service: drawn as its arrival window
                if a.start >= end or a_end <= start:
                    continue
                top, bottom = max(a.start, start), min(a_end, end)
                shown.append(Placed(a, _percent(top - start, length), _percent(bottom - top, length),
                                    _times_label(a, zone), a.status == Appointment.Status.HELD))
            columns.append(DayColumn(calendar, day, zones[calendar.pk], start, end, length / dt.timedelta(hours=1),
                                     ticks, shaded, shown))
        out[calendar.pk] = columns
    return out


def calendar_week_counts(calendars: list[Calendar], monday: dt.date) -> dict[int, int]:
    """How many appointments (booked, done, no-show) each calendar has in the local week from
    ``monday``, each in its own zone: one query."""
    if not calendars:
        return {}
    week = Q()
    for c in calendars:
        zone = zoneinfo.ZoneInfo(calendar_zone(c))
        week |= Q(calendar_id=c.pk, start__gte=_local_midnight(monday, zone),
                  start__lt=_local_midnight(monday + dt.timedelta(days=7), zone))
    rows = (Appointment.objects.filter(week, status__in=[s for s in SHOWN if s != Appointment.Status.HELD])
            .values("calendar_id").annotate(n=Count("pk")).values_list("calendar_id", "n"))
    return {c.pk: 0 for c in calendars} | dict(rows)


def appointment_with_history(pk: int) -> Appointment:
    """One appointment with its calendar, type, events (oldest first) and notices; raises
    ``Appointment.DoesNotExist`` (another client's id is simply not in this schema)."""
    return (Appointment.objects.select_related("calendar", "type")
            .prefetch_related("events", "notices").get(pk=pk))
