"""A calendar's iCalendar feed (its secret, revocable URL) and the import of busy times from the
client's own calendar. Run inside the client's schema.

Imported busy time is advisory: it keeps the slot search from offering the time, but it is not
under the exclusion constraint (the client's own calendar is not ours to guard). An import
replaces the calendar's busy rows whole, in one transaction, or — when the feed cannot be read
— changes nothing but the reason shown to the client.
"""

from __future__ import annotations

import datetime as dt
import logging
import time
from collections.abc import Callable
from dataclasses import dataclass
from urllib.parse import urlsplit

import requests
from django.conf import settings
from django.db import transaction
from django.db.models import Count, Max, Q
from django.urls import reverse
from django.utils import timezone

from calendars import ics
from calendars.ics import FeedError
from calendars.models import Appointment, BusyTime, Calendar, feed_token
from calendars.selectors import calendar_zone
from switchboard import outbound
from tenants.selectors import client_current

logger = logging.getLogger(__name__)

FETCH_TIMEOUT = 10  # seconds, to connect, between bytes, and for the whole download
MAX_BYTES = 5 * 1024 * 1024  # a person's calendar for a few months is far smaller
DEFAULT_HORIZON = dt.timedelta(days=90)
# The feed: booked appointments from this far back, and cancellations this recent (so a
# subscribed calendar drops them; after that they simply leave the feed).
FEED_PAST = dt.timedelta(days=90)
FEED_CANCELLED = dt.timedelta(days=30)
_ERROR_LENGTH = 300  # Calendar.busy_error


# --- The feed ---------------------------------------------------------------------------

def feed_path(calendar: Calendar) -> str:
    """The feed's path on the client's host (the token is the only key: no login)."""
    return reverse("calendars:feed", args=[calendar.feed_token])


def feed_appointments(calendar: Calendar, *, now: dt.datetime | None = None):
    """What the feed shows: booked (and done, no-show) appointments from FEED_PAST on, and those
    cancelled in the last FEED_CANCELLED, each with its number of reschedules and its last change."""
    now = now or timezone.now()
    S = Appointment.Status
    shown = Q(status__in=[S.BOOKED, S.DONE, S.NO_SHOW], end__gte=now - FEED_PAST) | Q(status=S.CANCELLED)
    rows = (Appointment.objects.filter(shown, calendar=calendar).select_related("type")
            .annotate(reschedules=Count("events", filter=Q(events__kind="rescheduled")), last_change=Max("events__at"))
            .order_by("start", "pk"))
    # A cancellation's time is its event's, not the row's (queryset updates leave ``updated``).
    return [a for a in rows if a.status != S.CANCELLED or (a.last_change or a.updated) >= now - FEED_CANCELLED]


def feed_render(calendar: Calendar, *, now: dt.datetime | None = None) -> tuple[bytes, dt.datetime | None]:
    """The feed's bytes and its last change (for Last-Modified)."""
    appointments = feed_appointments(calendar, now=now)
    changed = max((a.last_change or a.updated for a in appointments), default=None)
    return ics.feed_build(calendar, appointments, zone=calendar_zone(calendar)), changed


def feed_token_renew(*, calendar: Calendar, by: str) -> str:
    """A new secret for the calendar's feed; the old URL answers 404 from this commit on."""
    token = feed_token()
    Calendar.objects.filter(pk=calendar.pk).update(feed_token=token)
    calendar.feed_token = token
    logger.info("feed token of calendar %s (%s) renewed by %s", calendar.pk, client_current().schema_name, by)
    return token


# --- The busy-time import -----------------------------------------------------------------

@dataclass(frozen=True)
class ImportResult:
    calendar_id: int
    ok: bool
    count: int = 0  # busy times now stored (ok only)
    error: str = ""  # why not, for a person (not ok only)


def _shown(url: str) -> str:
    """The URL as the error shows it: short (the message has 300 characters), and without a
    query string, where private calendar links often carry their secret."""
    parts = urlsplit(url)
    shown = f"{parts.scheme}://{parts.netloc}{parts.path}"
    return shown if len(shown) <= 120 else shown[:119] + "…"


def _reason(exc: BaseException) -> str:
    """The innermost operating-system reason ("connection refused"), else the exception's name."""
    seen: set[int] = set()
    stack = [exc]
    while stack:
        e = stack.pop()
        if id(e) in seen:
            continue
        seen.add(id(e))
        if isinstance(e, OSError) and e.strerror:
            if e.errno is not None and e.errno < 0:  # getaddrinfo's: the name is not known
                return "its host name is not known"
            return e.strerror[0].lower() + e.strerror[1:]
        for nxt in (e.__cause__, e.__context__, getattr(e, "reason", None), *getattr(e, "args", ())):
            if isinstance(nxt, BaseException):
                stack.append(nxt)
    return type(exc).__name__


def fetch_http(url: str) -> bytes:
    """GET an ICS URL: http or https only (webcal:// is https), FETCH_TIMEOUT, at most
    MAX_BYTES. ``FeedError`` says why not, naming the URL."""
    if url.startswith("webcal://"):
        url = "https://" + url[len("webcal://"):]
    shown = _shown(url)
    if urlsplit(url).scheme not in ("http", "https"):
        raise FeedError(f"The feed's address {shown} is not an http or https URL.")
    deadline = time.monotonic() + FETCH_TIMEOUT
    try:
        # Through the outbound guard: a client's URL never reaches our own network, and no
        # redirect is followed to get there.
        with outbound.session().get(url, timeout=FETCH_TIMEOUT, stream=True, allow_redirects=False,
                          headers={"Accept": "text/calendar, */*;q=0.5",
                                   "User-Agent": "Switchboard busy-time import"}) as response:
            if 300 <= response.status_code < 400:
                raise FeedError(f"The feed at {shown} answered {response.status_code}, a redirect; give the address "
                                "it points to.")
            if response.status_code >= 400:
                raise FeedError(f"The feed at {shown} answered {response.status_code} {response.reason or ''}".rstrip()
                                + ".")
            if int(response.headers.get("Content-Length") or 0) > MAX_BYTES:
                raise FeedError(f"The feed at {shown} is too big (more than {MAX_BYTES // 1024 // 1024} MB).")
            body = bytearray()
            for chunk in response.iter_content(64 * 1024):
                body += chunk
                if len(body) > MAX_BYTES:
                    raise FeedError(f"The feed at {shown} is too big (more than {MAX_BYTES // 1024 // 1024} MB).")
                if time.monotonic() > deadline:  # a trickle would otherwise hold the worker for ever
                    raise FeedError(f"The feed at {shown} took longer than {FETCH_TIMEOUT} seconds to download.")
            return bytes(body)
    except outbound.UrlRefused as exc:
        raise FeedError(f"The feed at {shown} is not imported: {exc}") from exc
    except requests.Timeout as exc:
        raise FeedError(f"The feed at {shown} did not answer within {FETCH_TIMEOUT} seconds.") from exc
    except requests.RequestException as exc:
        raise FeedError(f"The feed at {shown} could not be reached: {_reason(exc)}.") from exc


def busy_window(calendar: Calendar, now: dt.datetime) -> tuple[dt.datetime, dt.datetime]:
    """From a day ago to the furthest horizon of the calendar's active types (or 90 days)."""
    days = calendar.types.filter(active=True).aggregate(m=Max("horizon_days"))["m"]
    return now - dt.timedelta(days=1), now + (dt.timedelta(days=days) if days else DEFAULT_HORIZON)


def busy_import(*, calendar: Calendar, fetch: Callable[[str], bytes] | None = None,
                now: dt.datetime | None = None) -> ImportResult:
    """Read the calendar's ``busy_ics_url`` and replace its busy times with the feed's, in one
    transaction. When the feed cannot be fetched or read, the old busy times stay and
    ``busy_error`` says why; either way ``busy_checked_at`` is now."""
    now = now or timezone.now()
    url = calendar.busy_ics_url
    try:
        if not url:
            raise FeedError("The calendar has no feed to import busy times from.")
        data = (fetch or fetch_http)(url)
        start, end = busy_window(calendar, now)
        try:
            found = ics.busy_parse(data, start=start, end=end, zone=calendar_zone(calendar))
        except FeedError as exc:
            raise FeedError(f"The feed at {_shown(url)} cannot be read. {exc}") from exc
    except FeedError as exc:
        error = str(exc) if len(str(exc)) <= _ERROR_LENGTH else str(exc)[:_ERROR_LENGTH - 1] + "…"
        Calendar.objects.filter(pk=calendar.pk).update(busy_checked_at=now, busy_error=error)
        calendar.busy_checked_at, calendar.busy_error = now, error
        logger.info("busy import of calendar %s failed: %s", calendar.pk, error)
        return ImportResult(calendar.pk, ok=False, error=error)
    with transaction.atomic():
        # Two imports of one calendar at once would each delete, then both insert: one at a time.
        Calendar.objects.select_for_update().filter(pk=calendar.pk).first()
        BusyTime.objects.filter(calendar=calendar).delete()
        BusyTime.objects.bulk_create([BusyTime(calendar=calendar, start=b.start, end=b.end, uid=b.uid,
                                               summary=b.summary) for b in found])
        Calendar.objects.filter(pk=calendar.pk).update(busy_checked_at=now, busy_imported_at=now, busy_error="")
    calendar.busy_checked_at = calendar.busy_imported_at = now
    calendar.busy_error = ""
    return ImportResult(calendar.pk, ok=True, count=len(found))


def busy_import_due(*, now: dt.datetime | None = None) -> list[int]:
    """Claim the calendars whose import is due (active, with a feed, not checked for
    CALENDAR_BUSY_IMPORT_MINUTES): their check is stamped now, so the next beat does not hand
    them out again while a worker imports them. Returns their ids."""
    now = now or timezone.now()
    stale = now - dt.timedelta(minutes=settings.CALENDAR_BUSY_IMPORT_MINUTES)
    due = Calendar.objects.filter(active=True).exclude(busy_ics_url="").filter(
        Q(busy_checked_at__isnull=True) | Q(busy_checked_at__lt=stale))
    claimed = []
    for pk, checked in due.values_list("pk", "busy_checked_at"):
        # Claimed only if nobody stamped it since we read it (two beats at once, or the command).
        unchanged = Q(busy_checked_at=checked) if checked else Q(busy_checked_at__isnull=True)
        if Calendar.objects.filter(unchanged, pk=pk).update(busy_checked_at=now):
            claimed.append(pk)
    return claimed
