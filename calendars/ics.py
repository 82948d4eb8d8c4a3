"""iCalendar in and out: a calendar's feed (its appointments, for the client's own calendar app)
and the busy times read from the client's own ICS feed.

Builders and parsers only — no HTTP, no writes: ``calendars.services.feeds`` fetches, stores and
serves. Every time leaves here exact: the feed's events carry the calendar's zone (TZID, with
its VTIMEZONE), and an imported event is expanded in its own zone before it becomes UTC.
"""

from __future__ import annotations

import datetime as dt
from collections.abc import Iterable
from dataclasses import dataclass
from zoneinfo import ZoneInfo

import icalendar
import recurring_ical_events
import x_wr_timezone

from calendars.models import Appointment, Calendar
from tenants.selectors import client_current

PRODID = "-//Switchboard//Calendars//EN"
# A feed's subscribers are told to look again this often (RFC 7986; Outlook and Google read
# X-PUBLISHED-TTL): about the cache's lifetime, so a booking shows within minutes.
REFRESH = dt.timedelta(minutes=15)
# More occurrences than this in the import's window is not a person's calendar: refused, so a
# FREQ=SECONDLY rule cannot fill the database.
MAX_BUSY = 10_000


class FeedError(Exception):
    """An imported feed that cannot be read; the message says what and where, for a person."""


def appointment_uid(appointment: Appointment, schema: str) -> str:
    """Stable across reschedules, so a subscribed calendar moves the event instead of adding one."""
    return f"appointment-{appointment.pk}@{schema}.switchboard"


def _clock(t: dt.datetime) -> str:
    return f"{t.hour}:{t.minute:02d}"


def _local(t: dt.datetime, zi: ZoneInfo) -> dt.datetime:
    """``t`` in the calendar's zone, or in UTC when that wall time is the second of a repeated
    hour: a TZID time names the first of the two (RFC 5545 3.3.5), so only UTC says the second."""
    local = t.astimezone(zi)
    if local.fold and local.replace(fold=0).utcoffset() != local.utcoffset():
        return t.astimezone(dt.UTC)
    return local


def _description(appointment: Appointment, zi: ZoneInfo) -> str:
    lines = []
    if appointment.window_end:
        lines.append(f"Arrives between {_clock(appointment.start.astimezone(zi))} and "
                     f"{_clock(appointment.window_end.astimezone(zi))}.")
    if appointment.phone:
        lines.append(f"Phone: {appointment.phone}")
    if appointment.email:
        lines.append(f"Email: {appointment.email}")
    labels = {f.get("name"): f.get("label") or f.get("name") for f in appointment.type.intake_fields or []
              if isinstance(f, dict)}
    for name, value in (appointment.answers or {}).items():
        if value not in ("", None):
            lines.append(f"{labels.get(name, name)}: {value}")
    if appointment.booked_by:
        lines.append(f"Booked by {appointment.booked_by}.")
    return "\n".join(lines)


def feed_build(calendar: Calendar, appointments: Iterable[Appointment], *, zone: str,
               schema: str | None = None) -> bytes:
    """The calendar's feed: one VEVENT per appointment given (booked ones CONFIRMED, cancelled
    ones CANCELLED so subscribers drop them), times in ``zone`` with its VTIMEZONE.

    Each appointment may carry ``reschedules`` (SEQUENCE) and ``last_change`` (DTSTAMP and
    LAST-MODIFIED) annotations; without them the row's ``updated`` is used. UIDs name the
    client's ``schema`` (default: the current one). The same rows give the same bytes (no
    "now" inside), so an ETag over them means something."""
    schema = schema or client_current().schema_name
    zi = ZoneInfo(zone)
    cal = icalendar.Calendar.new(prodid=PRODID, name=calendar.name, uid=f"calendar-{calendar.pk}@{schema}.switchboard",
                                 refresh_interval=REFRESH)
    cal.add("X-WR-TIMEZONE", zone)
    cal.add("X-PUBLISHED-TTL", REFRESH)
    first = last = None
    for a in appointments:
        changed = getattr(a, "last_change", None) or a.updated
        cancelled = a.status == Appointment.Status.CANCELLED
        # A cancellation is a change subscribers must not ignore: its SEQUENCE goes up too.
        sequence = (getattr(a, "reschedules", 0) or 0) + (1 if cancelled else 0)
        summary = f"{a.type.name} — {a.name}" if a.name else a.type.name
        event = icalendar.Event.new(
            uid=appointment_uid(a, schema), summary=summary, description=_description(a, zi) or None,
            start=_local(a.start, zi), end=_local(a.end, zi), stamp=changed.astimezone(dt.UTC),
            last_modified=changed.astimezone(dt.UTC), sequence=sequence,
            status="CANCELLED" if cancelled else "CONFIRMED")
        cal.add_component(event)
        first = min(first or a.start, a.start)
        last = max(last or a.end, a.end)
    if first is not None:
        # Only the transitions the events need: the default (1970–2038) makes every feed ~10 kB longer.
        cal.add_missing_timezones(first_date=(first - dt.timedelta(days=400)).date(),
                                  last_date=(last + dt.timedelta(days=400)).date())
    return cal.to_ical()


@dataclass(frozen=True)
class BusyInterval:
    start: dt.datetime  # aware, UTC
    end: dt.datetime
    uid: str
    summary: str


def _instant(value: dt.date | dt.datetime, zi: ZoneInfo) -> dt.datetime:
    """UTC: a date is its local midnight in ``zi`` (an all-day event takes the whole local
    day), a floating time is a local time in ``zi``."""
    if not isinstance(value, dt.datetime):
        value = dt.datetime.combine(value, dt.time(0))
    if value.tzinfo is None:
        value = value.replace(tzinfo=zi)
    return value.astimezone(dt.UTC)


def _event_name(event) -> str:
    uid = str(event.get("UID", "") or "")
    summary = str(event.get("SUMMARY", "") or "")
    return f"“{summary[:60]}”" + (f" (UID {uid[:80]})" if uid else "") if summary else f"UID {uid[:80] or '?'}"


def _check(cal: icalendar.Component) -> None:
    """The first property icalendar could not read, in words."""
    for component in cal.walk():
        for prop, why in getattr(component, "errors", None) or ():
            where = f"The event {_event_name(component)}" if component.name == "VEVENT" else f"Its {component.name}"
            raise FeedError(f"{where} has a bad {prop}: {str(why)[:160]}")


def busy_parse(data: bytes, *, start: dt.datetime, end: dt.datetime, zone: str) -> list[BusyInterval]:
    """The busy time between ``start`` and ``end`` (aware) in an iCalendar file: each recurring
    event expanded in its own zone (RRULE, RDATE, EXDATE, moved and cancelled occurrences),
    transparent ("free") and cancelled events left out, all-day events as whole local days and
    floating times as local times in ``zone``. ``FeedError`` when it is not a readable
    iCalendar file."""
    zi = ZoneInfo(zone)
    if data.lstrip()[:1] == b"<":
        raise FeedError("It is a web page or XML, not an iCalendar file (a sign-in page, or the wrong link?).")
    try:
        parsed = icalendar.Calendar.from_ical(data)
    except ValueError as exc:
        raise FeedError(f"It is not an iCalendar file: {str(exc)[:160]}") from exc
    if parsed.name != "VCALENDAR":
        raise FeedError(f"It has no VCALENDAR (it starts with BEGIN:{parsed.name}).")
    _check(parsed)
    try:
        # Google's X-WR-TIMEZONE gives floating and UTC times a zone: the standard form first.
        parsed = x_wr_timezone.to_standard(parsed)
        # A day either side: floating times and dates are compared before they have a zone.
        query = recurring_ical_events.of(parsed).after(start - dt.timedelta(days=1))
        found = []
        for event in query:
            a, b = _instant(event.start, zi), _instant(event.end, zi)
            if a > end + dt.timedelta(days=1):
                break  # occurrences come in order of start
            if b <= start or a >= end or b <= a:
                continue  # outside the window, or no duration (it takes no time)
            if str(event.get("TRANSP", "")).upper() == "TRANSPARENT" or \
                    str(event.get("STATUS", "")).upper() == "CANCELLED":
                continue
            found.append(BusyInterval(a, b, str(event.get("UID", "") or "")[:300], str(event.get("SUMMARY", "") or "")[:200]))
            if len(found) > MAX_BUSY:
                raise FeedError(f"It has more than {MAX_BUSY} busy times between {start:%Y-%m-%d} and {end:%Y-%m-%d}.")
    except FeedError:
        raise
    except (ValueError, KeyError, TypeError, AttributeError, OverflowError) as exc:
        # The expansion meets what the parser let through: a rule or a date it cannot use.
        raise FeedError(f"One of its events cannot be read: {type(exc).__name__}: {str(exc)[:160]}") from exc
    return found
