"""A calendar's iCalendar feed, parsed back by icalendar: each appointment at its exact instant
in the calendar's zone (DST nights in New York and Berlin, the repeated hour too), cancellations
as CANCELLED, a renewed token revoking the old URL, and one client's feed unreachable from
another client's host."""

from __future__ import annotations

import datetime as dt
import zoneinfo
from http import HTTPStatus

import icalendar
import pytest
from django_tenants.utils import schema_context

from calendars import ics
from calendars.models import AppointmentType, Calendar, WorkingHours
from calendars.services import booking, feeds
from tests.conftest import BOB_HOST, CHARLIE_HOST, http

pytestmark = pytest.mark.django_db

NY = zoneinfo.ZoneInfo("America/New_York")
BERLIN = zoneinfo.ZoneInfo("Europe/Berlin")


@pytest.fixture
def clock():
    import time_machine

    with time_machine.travel(dt.datetime(2026, 3, 1, 12, tzinfo=dt.UTC), tick=False) as traveller:
        yield traveller


def _calendar(name: str, zone: str) -> tuple[Calendar, AppointmentType]:
    cal = Calendar.objects.create(name=name, time_zone=zone)
    # Open round the clock, so the nights of the changes are bookable.
    WorkingHours.objects.bulk_create([WorkingHours(calendar=cal, weekday=d, start=dt.time(0), end=dt.time(23, 59, 59))
                                      for d in range(7)])
    type_ = AppointmentType.objects.create(name=f"Visit ({name})", duration_minutes=60, step_minutes=30,
                                           min_notice_minutes=0, horizon_days=300,
                                           intake_fields=[{"name": "problem", "label": "Problem", "type": "text"}])
    type_.calendars.add(cal)
    return cal, type_


@pytest.fixture
def bobs_calendars(world, clock):
    """Bob's Tom in New York (the client's zone) and Greta in Berlin (her own)."""
    with schema_context("bobsplumbing"):
        tom, tom_visit = _calendar("Tom", "")
        greta, greta_visit = _calendar("Greta", "Europe/Berlin")
        yield tom, tom_visit, greta, greta_visit


def _feed(host: str, calendar: Calendar):
    response = http(host).get(f"/calendars/feed/{calendar.feed_token}.ics")
    return response, (icalendar.Calendar.from_ical(response.content) if response.status_code == 200 else None)


def utc(*args, tz=NY, fold=0) -> dt.datetime:
    """A local wall time as its UTC instant (the booking service is given instants)."""
    return dt.datetime(*args, fold=fold, tzinfo=tz).astimezone(dt.UTC)


def _events(parsed: icalendar.Calendar) -> dict[str, icalendar.Event]:
    return {str(e["UID"]): e for e in parsed.walk("VEVENT")}


def test_the_feed_has_each_appointment_at_its_instant_in_the_calendars_zone(bobs_calendars):
    tom, tom_visit, greta, greta_visit = bobs_calendars
    with schema_context("bobsplumbing"):
        # 01:30 on the night New York springs forward: 01:30 EST, an hour later it is 03:30 EDT.
        spring = booking.appointment_book(type_=tom_visit, calendar=tom, start=utc(2026, 3, 8, 1, 30),
                                          by="ana", name="Pat Lee", phone="+12125550199",
                                          answers={"problem": "No heat"})
        # The second 01:30 of the night it falls back: only UTC can say which one.
        repeat = booking.appointment_book(type_=tom_visit, calendar=tom,
                                          start=utc(2026, 11, 1, 1, 30, fold=1), by="ana", name="Ivy")
        berlin = booking.appointment_book(type_=greta_visit, calendar=greta,
                                          start=utc(2026, 3, 29, 1, 30, tz=BERLIN), by="ana", name="Max")
    assert repeat.start == dt.datetime(2026, 11, 1, 6, 30, tzinfo=dt.UTC)

    response, parsed = _feed(BOB_HOST, tom)
    assert response.status_code == HTTPStatus.OK
    assert response["Content-Type"] == "text/calendar; charset=utf-8"
    assert response["Cache-Control"] == "private, max-age=300"
    assert str(parsed["VERSION"]) == "2.0" and str(parsed["X-WR-CALNAME"]) == "Tom"
    assert "America/New_York" in [str(tz["TZID"]) for tz in parsed.walk("VTIMEZONE")]
    events = _events(parsed)
    assert set(events) == {f"appointment-{spring.pk}@bobsplumbing.switchboard",
                           f"appointment-{repeat.pk}@bobsplumbing.switchboard"}
    e = events[f"appointment-{spring.pk}@bobsplumbing.switchboard"]
    assert e["DTSTART"].params["TZID"] == "America/New_York"
    assert e["DTSTART"].dt == spring.start and e["DTEND"].dt == spring.end
    # Real time across the change (Python subtracts two times of one zone by their wall clocks).
    assert e["DTEND"].dt.astimezone(dt.UTC) - e["DTSTART"].dt.astimezone(dt.UTC) == dt.timedelta(hours=1)
    assert (e["DTSTART"].dt.hour, e["DTEND"].dt.astimezone(NY).hour) == (1, 3)
    assert str(e["SUMMARY"]) == f"{tom_visit.name} — Pat Lee"
    assert "+12125550199" in str(e["DESCRIPTION"]) and "Problem: No heat" in str(e["DESCRIPTION"])
    assert str(e["STATUS"]) == "CONFIRMED" and int(e["SEQUENCE"]) == 0
    assert e["DTSTAMP"].dt and e["LAST-MODIFIED"].dt
    r = events[f"appointment-{repeat.pk}@bobsplumbing.switchboard"]
    assert r["DTSTART"].dt == repeat.start  # not the first 01:30, an hour earlier

    response, parsed = _feed(BOB_HOST, greta)
    (g,) = parsed.walk("VEVENT")
    assert g["DTSTART"].params["TZID"] == "Europe/Berlin"
    assert g["DTSTART"].dt == berlin.start == dt.datetime(2026, 3, 29, 0, 30, tzinfo=dt.UTC)
    assert g["DTEND"].dt == berlin.end and g["DTEND"].dt.astimezone(BERLIN).hour == 3
    assert "Europe/Berlin" in [str(tz["TZID"]) for tz in parsed.walk("VTIMEZONE")]


def test_reschedules_count_in_sequence_and_cancelled_ones_are_cancelled(bobs_calendars, clock):
    tom, visit, *_ = bobs_calendars
    with schema_context("bobsplumbing"):
        moved = booking.appointment_book(type_=visit, calendar=tom, start=utc(2026, 3, 3, 9), by="ana")
        booking.appointment_reschedule(appointment=moved, start=utc(2026, 3, 3, 11), by="ana")
        gone = booking.appointment_book(type_=visit, calendar=tom, start=utc(2026, 3, 4, 9), by="ana")
        booking.appointment_cancel(appointment=gone, by="bob", reason="The customer fixed it.")
        held = booking.slot_hold(type_=visit, calendar=tom, start=utc(2026, 3, 5, 9), by="ana")
    events = _events(_feed(BOB_HOST, tom)[1])
    m = events[f"appointment-{moved.pk}@bobsplumbing.switchboard"]
    assert m["DTSTART"].dt == dt.datetime(2026, 3, 3, 11, tzinfo=NY) and int(m["SEQUENCE"]) == 1
    c = events[f"appointment-{gone.pk}@bobsplumbing.switchboard"]
    assert str(c["STATUS"]) == "CANCELLED" and int(c["SEQUENCE"]) == 1
    assert f"appointment-{held.pk}@bobsplumbing.switchboard" not in events  # a hold is not an appointment
    # A month on, the cancellation has left the feed.
    clock.move_to(dt.datetime(2026, 4, 5, 12, tzinfo=dt.UTC))
    assert f"appointment-{gone.pk}@bobsplumbing.switchboard" not in _events(_feed(BOB_HOST, tom)[1])


def test_field_service_says_the_arrival_window(world, clock):
    with schema_context("bobsplumbing"):
        tom, visit = _calendar("Tom", "America/New_York")
        AppointmentType.objects.filter(pk=visit.pk).update(arrival_window_minutes=120, step_minutes=60)
        visit.refresh_from_db()
        a = booking.appointment_book(type_=visit, calendar=tom, start=utc(2026, 3, 3, 8), by="ana")
    (e,) = _feed(BOB_HOST, tom)[1].walk("VEVENT")
    assert "Arrives between 8:00 and 10:00" in str(e["DESCRIPTION"])
    assert e["DTSTART"].dt == a.start


def test_a_renewed_token_revokes_the_old_url_at_once(bobs_calendars):
    tom, *_ = bobs_calendars
    old = tom.feed_token
    assert http(BOB_HOST).get(f"/calendars/feed/{old}.ics").status_code == HTTPStatus.OK
    with schema_context("bobsplumbing"):
        new = feeds.feed_token_renew(calendar=tom, by="bob@bobs.test")
        assert new != old and Calendar.objects.get(pk=tom.pk).feed_token == new
        assert feeds.feed_path(tom) == f"/calendars/feed/{new}.ics"
    assert http(BOB_HOST).get(f"/calendars/feed/{old}.ics").status_code == HTTPStatus.NOT_FOUND
    assert http(BOB_HOST).get(f"/calendars/feed/{new}.ics").status_code == HTTPStatus.OK
    assert http(BOB_HOST).get("/calendars/feed/not-a-token-of-anyone-at-all.ics").status_code == HTTPStatus.NOT_FOUND


def test_one_clients_feed_is_not_found_on_another_clients_host(bobs_calendars):
    tom, *_ = bobs_calendars
    with schema_context("charlieclinic"):
        rivera, _ = _calendar("Dr. Rivera", "")
    assert http(BOB_HOST).get(f"/calendars/feed/{tom.feed_token}.ics").status_code == HTTPStatus.OK
    assert http(CHARLIE_HOST).get(f"/calendars/feed/{tom.feed_token}.ics").status_code == HTTPStatus.NOT_FOUND
    assert http(BOB_HOST).get(f"/calendars/feed/{rivera.feed_token}.ics").status_code == HTTPStatus.NOT_FOUND
    assert http(CHARLIE_HOST).get(f"/calendars/feed/{rivera.feed_token}.ics").status_code == HTTPStatus.OK
    # Nor on the platform's host, which has no calendars at all.
    assert http("localhost").get(f"/calendars/feed/{tom.feed_token}.ics").status_code == HTTPStatus.NOT_FOUND


def test_an_unchanged_feed_is_a_304_and_a_booking_changes_it(bobs_calendars):
    tom, visit, *_ = bobs_calendars
    first = http(BOB_HOST).get(f"/calendars/feed/{tom.feed_token}.ics")
    again = http(BOB_HOST).get(f"/calendars/feed/{tom.feed_token}.ics", HTTP_IF_NONE_MATCH=first["ETag"])
    assert again.status_code == HTTPStatus.NOT_MODIFIED and again.content == b""
    with schema_context("bobsplumbing"):
        booking.appointment_book(type_=visit, calendar=tom, start=utc(2026, 3, 3, 9), by="ana")
    changed = http(BOB_HOST).get(f"/calendars/feed/{tom.feed_token}.ics", HTTP_IF_NONE_MATCH=first["ETag"])
    assert changed.status_code == HTTPStatus.OK and changed["ETag"] != first["ETag"]
    assert http(BOB_HOST).post(f"/calendars/feed/{tom.feed_token}.ics").status_code == HTTPStatus.METHOD_NOT_ALLOWED


def test_the_builder_alone_round_trips(bobs_calendars):
    tom, visit, *_ = bobs_calendars
    with schema_context("bobsplumbing"):
        a = booking.appointment_book(type_=visit, calendar=tom, start=utc(2026, 3, 3, 9), by="ana")
        data = ics.feed_build(tom, feeds.feed_appointments(tom), zone="America/New_York")
        assert data == ics.feed_build(tom, feeds.feed_appointments(tom), zone="America/New_York")  # no "now" inside
    (e,) = icalendar.Calendar.from_ical(data).walk("VEVENT")
    assert e["DTSTART"].dt == a.start and e["UID"] == f"appointment-{a.pk}@bobsplumbing.switchboard"
