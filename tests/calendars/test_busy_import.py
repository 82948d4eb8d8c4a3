"""Busy times imported from a client's own ICS feed, served by a real local HTTP server:
recurring events expanded in their own zone across a DST change, EXDATE, all-day and floating
events in the calendar's zone, free and cancelled events left out; the imported time taken out
of the slot search; a malformed, unreachable or missing feed reported in words with the old
busy times kept; and the beat importing what is due in every client."""

from __future__ import annotations

import datetime as dt
import socket
import threading
import zoneinfo
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

import pytest
from django.core.management import CommandError, call_command
from django.utils import timezone
from django_tenants.utils import schema_context

from calendars import selectors
from calendars.models import AppointmentType, BusyTime, Calendar, WorkingHours
from calendars.services import feeds
from calendars.tasks import busy_imports_due_task

pytestmark = pytest.mark.django_db

NY = zoneinfo.ZoneInfo("America/New_York")
NOW = dt.datetime(2026, 3, 16, 12, tzinfo=dt.UTC)  # a Monday; London changes on 29 March

WEEKLY = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//Test//Test//EN
BEGIN:VEVENT
UID:standup@test
DTSTAMP:20260101T000000Z
DTSTART;TZID=Europe/London:20260317T090000
DTEND;TZID=Europe/London:20260317T100000
RRULE:FREQ=WEEKLY;COUNT=5
EXDATE;TZID=Europe/London:20260331T090000
SUMMARY:Stand-up in London
END:VEVENT
BEGIN:VEVENT
UID:dayoff@test
DTSTAMP:20260101T000000Z
DTSTART;VALUE=DATE:20260320
DTEND;VALUE=DATE:20260321
SUMMARY:Day off
END:VEVENT
BEGIN:VEVENT
UID:lunch@test
DTSTAMP:20260101T000000Z
DTSTART:20260318T120000
DTEND:20260318T130000
SUMMARY:Lunch (floating)
END:VEVENT
BEGIN:VEVENT
UID:free@test
DTSTAMP:20260101T000000Z
DTSTART:20260318T150000Z
DTEND:20260318T160000Z
TRANSP:TRANSPARENT
SUMMARY:Free to book
END:VEVENT
BEGIN:VEVENT
UID:called-off@test
DTSTAMP:20260101T000000Z
DTSTART:20260318T170000Z
DTEND:20260318T180000Z
STATUS:CANCELLED
SUMMARY:Called off
END:VEVENT
BEGIN:VEVENT
UID:long-ago@test
DTSTAMP:20260101T000000Z
DTSTART:20250101T170000Z
DTEND:20250101T180000Z
SUMMARY:Outside the window
END:VEVENT
END:VCALENDAR
""".replace("\n", "\r\n").encode()

ONE = """BEGIN:VCALENDAR
VERSION:2.0
PRODID:-//Test//Test//EN
BEGIN:VEVENT
UID:dentist@test
DTSTAMP:20260101T000000Z
DTSTART:20260317T140000Z
DTEND:20260317T150000Z
SUMMARY:Dentist
END:VEVENT
END:VCALENDAR
""".replace("\n", "\r\n").encode()


class Feeds:
    """A local HTTP server: ``routes[path] = (status, body)``."""

    def __init__(self):
        self.routes: dict[str, tuple[int, bytes]] = {}
        routes = self.routes

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                status, body = routes.get(self.path, (404, b"not here"))
                self.send_response(status)
                self.send_header("Content-Type", "text/calendar")
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        self.server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)
        self.thread.start()

    def url(self, path: str) -> str:
        return f"http://127.0.0.1:{self.server.server_port}{path}"


@pytest.fixture
def served():
    feeds_ = Feeds()
    yield feeds_
    feeds_.server.shutdown()
    feeds_.server.server_close()


@pytest.fixture
def clock():
    import time_machine

    with time_machine.travel(NOW, tick=False) as traveller:
        yield traveller


@pytest.fixture
def tom(world, clock, served):
    """Bob's technician Tom (New York), 08:00–17:00 on weekdays, whose own calendar is served."""
    with schema_context("bobsplumbing"):
        cal = Calendar.objects.create(name="Tom", busy_ics_url=served.url("/tom.ics"))
        WorkingHours.objects.bulk_create([WorkingHours(calendar=cal, weekday=d, start=dt.time(8), end=dt.time(17))
                                          for d in range(5)])
        visit = AppointmentType.objects.create(name="Repair visit", duration_minutes=60, step_minutes=60,
                                               min_notice_minutes=0, horizon_days=30)
        visit.calendars.add(cal)
        yield cal, visit


def _busy(cal: Calendar) -> list[tuple[dt.datetime, dt.datetime, str]]:
    return [(b.start, b.end, b.uid) for b in BusyTime.objects.filter(calendar=cal).order_by("start")]


def utc(*args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=dt.UTC)


def test_recurring_events_expand_in_their_own_zone_and_all_day_ones_block_the_local_day(tom, served):
    cal, _ = tom
    served.routes["/tom.ics"] = (200, WEEKLY)
    with schema_context("bobsplumbing"):
        result = feeds.busy_import(calendar=cal)
        assert result.ok and result.count == 6 and result.error == ""
        assert _busy(cal) == [
            (utc(2026, 3, 17, 9), utc(2026, 3, 17, 10), "standup@test"),  # GMT
            # The day off: the whole day in New York, the calendar's zone (EDT since 8 March).
            (utc(2026, 3, 18, 16), utc(2026, 3, 18, 17), "lunch@test"),  # floating: noon in New York
            (utc(2026, 3, 20, 4), utc(2026, 3, 21, 4), "dayoff@test"),
            (utc(2026, 3, 24, 9), utc(2026, 3, 24, 10), "standup@test"),
            # 31 March is excluded; from 29 March London is on BST: 09:00 is 08:00 UTC.
            (utc(2026, 4, 7, 8), utc(2026, 4, 7, 9), "standup@test"),
            (utc(2026, 4, 14, 8), utc(2026, 4, 14, 9), "standup@test"),
        ]
        cal.refresh_from_db()
        assert cal.busy_imported_at == NOW and cal.busy_checked_at == NOW and cal.busy_error == ""


def test_imported_busy_time_is_not_offered(tom, served):
    cal, visit = tom
    served.routes["/tom.ics"] = (200, ONE)  # the dentist, 10:00–11:00 in New York on Tuesday the 17th
    with schema_context("bobsplumbing"):
        def tuesday() -> list[int]:
            found = selectors.appointment_slots(visit, count=30, after=utc(2026, 3, 17, 0))
            return [s.local_start.hour for s in found if s.local_start.date() == dt.date(2026, 3, 17)]

        assert tuesday() == [8, 9, 10, 11, 12, 13, 14, 15, 16]
        assert feeds.busy_import(calendar=cal).count == 1
        assert tuesday() == [8, 9, 11, 12, 13, 14, 15, 16]
        # Another calendar's busy time is its own.
        other = Calendar.objects.create(name="Una")
        WorkingHours.objects.create(calendar=other, weekday=1, start=dt.time(8), end=dt.time(17))
        found = selectors.appointment_slots(visit, count=30, after=utc(2026, 3, 17, 0), calendars=[other])
        assert 10 in [s.local_start.hour for s in found if s.local_start.date() == dt.date(2026, 3, 17)]


@pytest.mark.parametrize(("body", "words"), [
    (b"hello, this is not a calendar", "is not an iCalendar file"),
    (b"<!DOCTYPE html><html><body>Sign in</body></html>", "a web page"),
    (b"BEGIN:VEVENT\r\nUID:x\r\nEND:VEVENT\r\n", "has no VCALENDAR"),
    (b"BEGIN:VCALENDAR\r\nVERSION:2.0\r\nBEGIN:VEVENT\r\nUID:bad@test\r\nSUMMARY:Broken\r\n"
     b"DTSTART:2026XX17T090000Z\r\nDTEND:20260317T100000Z\r\nEND:VEVENT\r\nEND:VCALENDAR\r\n",
     "The event “Broken” (UID bad@test) has a bad DTSTART"),
])
def test_a_malformed_feed_is_reported_and_the_old_busy_times_stay(tom, served, clock, body, words):
    cal, _ = tom
    served.routes["/tom.ics"] = (200, ONE)
    with schema_context("bobsplumbing"):
        assert feeds.busy_import(calendar=cal).ok
        before = _busy(cal)
        clock.move_to(NOW + dt.timedelta(minutes=20))
        served.routes["/tom.ics"] = (200, body)
        result = feeds.busy_import(calendar=cal)
        assert not result.ok
        assert result.error.startswith(f"The feed at {served.url('/tom.ics')} cannot be read.")
        assert words in result.error
        cal.refresh_from_db()
        assert cal.busy_error == result.error
        assert cal.busy_checked_at == NOW + dt.timedelta(minutes=20) and cal.busy_imported_at == NOW
        assert _busy(cal) == before
        # The next import that works clears the error.
        served.routes["/tom.ics"] = (200, ONE)
        assert feeds.busy_import(calendar=cal).ok
        cal.refresh_from_db()
        assert cal.busy_error == ""


def test_an_unreachable_feed_is_reported_in_words(tom):
    cal, _ = tom
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    with schema_context("bobsplumbing"):
        cal.busy_ics_url = f"http://127.0.0.1:{port}/tom.ics?key=secret"
        result = feeds.busy_import(calendar=cal)
    assert not result.ok
    # The query string, where private links carry their secret, is not shown.
    assert result.error == f"The feed at http://127.0.0.1:{port}/tom.ics could not be reached: connection refused."


def test_a_missing_feed_is_reported_with_its_status(tom):
    cal, _ = tom
    with schema_context("bobsplumbing"):
        result = feeds.busy_import(calendar=cal)  # nothing served at /tom.ics
        assert result.error == f"The feed at {cal.busy_ics_url} answered 404 Not Found."
        cal.refresh_from_db()
        assert cal.busy_error == result.error


def test_only_http_and_a_bounded_size_are_fetched(tom, served):
    cal, _ = tom
    with schema_context("bobsplumbing"):
        cal.busy_ics_url = "file:///etc/passwd"
        assert "is not an http or https URL" in feeds.busy_import(calendar=cal).error
        served.routes["/big.ics"] = (200, b"X" * (feeds.MAX_BYTES + 1))
        cal.busy_ics_url = served.url("/big.ics")
        assert "is too big (more than 5 MB)" in feeds.busy_import(calendar=cal).error


def test_fetch_can_be_given(tom):
    cal, _ = tom
    with schema_context("bobsplumbing"):
        result = feeds.busy_import(calendar=cal, fetch=lambda url: ONE)
        assert result.ok and _busy(cal) == [(utc(2026, 3, 17, 14), utc(2026, 3, 17, 15), "dentist@test")]


def test_the_beat_imports_what_is_due_in_every_client(tom, served, clock, eager_celery):
    cal, _ = tom
    served.routes["/tom.ics"] = (200, ONE)
    served.routes["/rivera.ics"] = (200, WEEKLY)
    with schema_context("charlieclinic"):
        rivera = Calendar.objects.create(name="Dr. Rivera", busy_ics_url=served.url("/rivera.ics"))
        # Checked five minutes ago: not due; and one without a feed is never due.
        recent = Calendar.objects.create(name="Dr. Soto", busy_ics_url=served.url("/rivera.ics"),
                                         busy_checked_at=NOW - dt.timedelta(minutes=5))
        Calendar.objects.create(name="Room 1")
    assert busy_imports_due_task() == 2
    with schema_context("bobsplumbing"):
        assert [u for *_, u in _busy(cal)] == ["dentist@test"]
    with schema_context("charlieclinic"):
        assert len(_busy(rivera)) == 6 and _busy(recent) == []
        assert not BusyTime.objects.filter(calendar__name="Tom").exists()  # Bob's Tom is not here
    # Nothing is due again until the interval has passed; then everything with a feed is.
    assert busy_imports_due_task() == 0
    clock.move_to(NOW + dt.timedelta(minutes=16))
    assert busy_imports_due_task() == 3
    with schema_context("charlieclinic"):
        assert len(_busy(recent)) == 6
        assert Calendar.objects.get(pk=recent.pk).busy_imported_at == timezone.now()


def test_the_command_prints_what_came_of_it(tom, served, capsys):
    cal, _ = tom
    served.routes["/tom.ics"] = (200, ONE)
    call_command("calendar_busy_import", "bobsplumbing", "Tom")
    assert "Tom: 1 busy time imported." in capsys.readouterr().out
    served.routes["/tom.ics"] = (404, b"")
    with pytest.raises(CommandError, match="1 of 1 imports failed"):
        call_command("calendar_busy_import", "bobsplumbing")
    assert "answered 404" in capsys.readouterr().err
    with pytest.raises(CommandError, match="has no calendar “Nobody”"):
        call_command("calendar_busy_import", "bobsplumbing", "Nobody")


def test_a_feed_on_our_own_network_is_refused_when_saved_and_when_fetched(world, settings):
    """Production rules (no private addresses): a client's ICS URL never reaches into our own
    network — refused with a reason when the calendar is saved, and again when it is fetched
    (DNS may have moved since)."""
    from django.core.exceptions import ValidationError

    from calendars.services.feeds import busy_import
    from calendars.services.setup import calendar_save

    settings.OUTBOUND_ALLOW_PRIVATE = False
    with schema_context("bobsplumbing"):
        with pytest.raises(ValidationError) as refused:
            calendar_save(calendar=None, name="Metadata", kind="person", busy_ics_url="http://169.254.169.254/x.ics")
        assert "link-local" in refused.value.message_dict["busy_ics_url"][0]
        calendar = Calendar.objects.create(name="Loopback", busy_ics_url="http://127.0.0.1:6379/cal.ics")
        result = busy_import(calendar=calendar)
        calendar.refresh_from_db()
        assert not result.ok and "loopback" in calendar.busy_error and "not imported" in calendar.busy_error
