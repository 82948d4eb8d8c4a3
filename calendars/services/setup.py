"""Setting calendars up: working hours, exceptions, appointment types and reminder rules — what
the portal's editors (portal/calendars.py) save. Inside the client's schema.

Every save is one transaction: a refused edit writes nothing (the week's hours are replaced
whole or not at all). Problems are ``ValidationError``s keyed by field, for a person.
"""

from __future__ import annotations

import datetime as dt
import zoneinfo
from dataclasses import dataclass

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.db.models.deletion import ProtectedError

from calendars.models import AppointmentType, Calendar, CalendarException, ReminderRule, WorkingHours
from switchboard import outbound

WEEKDAYS = ["Monday", "Tuesday", "Wednesday", "Thursday", "Friday", "Saturday", "Sunday"]
_WEEK = 7 * 24 * 60
INTAKE_KINDS = {"text": "Text", "long_text": "Long text", "phone": "Phone number", "email": "Email", "address": "Address",
                "number": "Number", "yes_no": "Yes / no", "date": "Date"}


@dataclass(frozen=True)
class Interval:
    weekday: int  # 0 = Monday
    start: dt.time
    end: dt.time  # before (or at midnight after) the start: runs past midnight, a night shift

    def week_minutes(self) -> tuple[int, int]:
        """Minutes from Monday 00:00 (the end may pass Sunday midnight, into next week)."""
        start = self.weekday * 1440 + self.start.hour * 60 + self.start.minute
        length = (self.end.hour * 60 + self.end.minute - self.start.hour * 60 - self.start.minute) % 1440 or 1440
        return start, start + length

    def text(self) -> str:
        return f"{WEEKDAYS[self.weekday]} {self.start:%H:%M}–{self.end:%H:%M}"


def hours_problems(intervals: list[Interval]) -> dict[int, str]:
    """What is wrong with a week of hours, by interval index: an empty interval, or one that
    overlaps another (night shifts included, across Sunday into Monday)."""
    problems: dict[int, str] = {}
    spans = []
    for i, interval in enumerate(intervals):
        if interval.start == interval.end:
            problems[i] = "Starts and ends at the same time: give it a length (an end before the start runs past midnight)."
            continue
        a, b = interval.week_minutes()
        spans.extend([(a, b, i), (a - _WEEK, b - _WEEK, i)])  # a Sunday night shift reaches into Monday
    spans.sort()
    for n, (a, b, i) in enumerate(spans):
        for a2, _b2, j in spans[n + 1:]:
            if a2 >= b:
                break
            if i != j and max(i, j) not in problems:
                problems[max(i, j)] = f"Overlaps {intervals[min(i, j)].text()}."
    return problems


def working_hours_replace(*, calendar: Calendar, intervals: list[Interval]) -> list[WorkingHours]:
    """The calendar's whole week, replaced in one transaction (or nothing, with the problems)."""
    problems = hours_problems(intervals)
    if problems:
        raise ValidationError({f"hours-{i}": [message] for i, message in problems.items()})
    with transaction.atomic():
        Calendar.objects.select_for_update().filter(pk=calendar.pk).first()  # two editors: one after the other
        WorkingHours.objects.filter(calendar=calendar).delete()
        # 00:00 as an end is midnight: stored as 23:59:59, which the slot search reads as midnight.
        return WorkingHours.objects.bulk_create([
            WorkingHours(calendar=calendar, weekday=i.weekday, start=i.start,
                         end=dt.time(23, 59, 59) if i.end == dt.time(0) else i.end)
            for i in sorted(intervals, key=lambda i: (i.weekday, i.start))])


def exception_add(*, calendar: Calendar, date: dt.date, start: dt.time | None, end: dt.time | None,
                  available: bool, reason: str = "") -> CalendarException:
    """A day off, time off, or extra hours on one local date."""
    if (start is None) != (end is None):
        raise ValidationError({"end" if start else "start": ["Give both times, or neither for the whole day."]})
    if start is not None and start == end:
        raise ValidationError({"end": ["The end must differ from the start."]})
    return CalendarException.objects.create(calendar=calendar, date=date, start=start, end=end,
                                            available=available, reason=reason[:200])


def exception_delete(*, exception: CalendarException) -> None:
    exception.delete()


def calendar_save(*, calendar: Calendar | None, name: str, kind: str, time_zone: str = "", active: bool = True,
                  busy_ics_url: str = "") -> Calendar:
    """Add or change a calendar (a person or a room); its name is unique in the client."""
    name = name.strip()
    if time_zone:
        try:
            zoneinfo.ZoneInfo(time_zone)
        except (zoneinfo.ZoneInfoNotFoundError, ValueError):
            raise ValidationError({"time_zone": [f"“{time_zone}” is not a time zone (e.g. America/New_York)."]})
    if busy_ics_url:
        url = "https://" + busy_ics_url[len("webcal://"):] if busy_ics_url.startswith("webcal://") else busy_ics_url
        try:
            outbound.url_check(url)  # never our own network (switchboard/outbound.py)
        except outbound.UrlRefused as exc:
            raise ValidationError({"busy_ics_url": [str(exc)]}) from exc
    calendar = calendar or Calendar()
    for field, value in {"name": name, "kind": kind, "time_zone": time_zone, "active": active,
                         "busy_ics_url": busy_ics_url}.items():
        setattr(calendar, field, value)
    try:
        with transaction.atomic():
            calendar.save()
    except IntegrityError as exc:
        if "calendar_name_unique" in str(exc):
            raise ValidationError({"name": [f"There is a calendar called “{name}” already."]}) from exc
        raise
    return calendar


def intake_problems(fields: list[dict]) -> dict[int, dict[str, str]]:
    """Each intake field needs a name (letters, digits, underscores), unique in the type, and a known kind."""
    problems: dict[int, dict[str, str]] = {}
    seen: set[str] = set()
    for i, f in enumerate(fields):
        name = f.get("name", "")
        if not name or not name.replace("_", "").isalnum() or not name.isascii() or name[0].isdigit():
            problems.setdefault(i, {})["name"] = "Letters, digits and underscores, starting with a letter."
        elif name in seen:
            problems.setdefault(i, {})["name"] = f"“{name}” is asked twice."
        seen.add(name)
        if f.get("type") not in INTAKE_KINDS:
            problems.setdefault(i, {})["type"] = "Choose a kind of answer."
    return problems


def appointment_type_save(*, type_: AppointmentType | None, calendars: list[Calendar], intake_fields: list[dict],
                          **fields) -> AppointmentType:
    """Add or change an appointment type with its calendars and intake fields, in one
    transaction. ``fields``: the model's own (name, duration_minutes, buffers, step, notice,
    horizon, capacity, arrival_window_minutes, active)."""
    if problems := intake_problems(intake_fields):
        raise ValidationError({f"intake-{i}-{name}": [m] for i, found in problems.items() for name, m in found.items()})
    if fields.get("step_minutes") is not None and fields["step_minutes"] < 1:
        raise ValidationError({"step_minutes": ["Slots must start at least a minute apart."]})
    type_ = type_ or AppointmentType()
    for field, value in fields.items():
        setattr(type_, field, value)
    type_.name = type_.name.strip()
    type_.intake_fields = [{"name": f["name"], "label": f.get("label") or f["name"].replace("_", " ").capitalize(),
                            "type": f["type"], "required": bool(f.get("required"))} for f in intake_fields]
    try:
        with transaction.atomic():
            type_.save()
            type_.calendars.set(calendars)
    except IntegrityError as exc:
        if "appointment_type_name_unique" in str(exc):
            raise ValidationError({"name": [f"There is a type called “{type_.name}” already."]}) from exc
        raise
    return type_


def appointment_type_delete(*, type_: AppointmentType) -> None:
    """Only a type nothing was ever booked as: the others keep their history (make them inactive)."""
    try:
        type_.delete()
    except ProtectedError as exc:
        raise ValidationError(f"“{type_.name}” has appointments: make it inactive instead, to keep their history."
                              ) from exc


def reminder_rule_save(*, rule: ReminderRule | None, kind: str, channel: str, minutes_before: int,
                       types: list[AppointmentType], active: bool = True) -> ReminderRule:
    """Add or change a confirmation or reminder rule (``types`` empty: every type)."""
    if kind == ReminderRule.Kind.REMINDER and not minutes_before:
        raise ValidationError({"minutes_before": ["A reminder goes out some time before: say how long."]})
    rule = rule or ReminderRule()
    rule.kind, rule.channel, rule.active = kind, channel, active
    rule.minutes_before = minutes_before if kind == ReminderRule.Kind.REMINDER else 0
    with transaction.atomic():
        rule.save()
        rule.types.set(types)
    return rule


def reminder_rule_delete(*, rule: ReminderRule) -> None:
    """Notices already queued by the rule still go out (their row keeps what to send)."""
    rule.delete()
