"""The client portal's calendars: Bob's Plumbing has Tom, a technician working 08:00–17:00 in
New York, and a one-hour repair visit with half an hour's drive after it. Bea (a client user)
reads the week, books, moves and cancels; Bob (the client's admin) edits the hours, exceptions
and types; Bea may not. Charlie's Clinic is the stranger: its ids are not found on Bob's host,
and Bob's session is nobody on Charlie's."""

from __future__ import annotations

import datetime as dt
import re
import zoneinfo
from http import HTTPStatus

import pytest
from django_tenants.utils import schema_context

from calendars import selectors
from calendars.models import Appointment, AppointmentType, Calendar, CalendarException, WorkingHours
from calendars.services import booking
from portal.calendar_forms import slot_value
from tests.conftest import BOB_HOST, CHARLIE_HOST

pytestmark = pytest.mark.django_db

NY = zoneinfo.ZoneInfo("America/New_York")
TUESDAY_9 = dt.datetime(2026, 6, 2, 9, 0, tzinfo=NY)


def at(hour: int, day: int = 2, minute: int = 0) -> dt.datetime:
    return dt.datetime(2026, 6, day, hour, minute, tzinfo=NY)


@pytest.fixture
def clock():
    import time_machine

    with time_machine.travel(TUESDAY_9, tick=False) as traveller:
        yield traveller


class Tom:
    def __init__(self):
        self.calendar = Calendar.objects.create(name="Tom", time_zone="America/New_York")
        WorkingHours.objects.bulk_create([WorkingHours(calendar=self.calendar, weekday=d, start=dt.time(8),
                                                       end=dt.time(17)) for d in range(7)])
        self.type = AppointmentType.objects.create(
            name="Repair visit", duration_minutes=60, buffer_after_minutes=30, step_minutes=60, min_notice_minutes=60,
            horizon_days=14, intake_fields=[{"name": "problem", "label": "What is wrong", "type": "text",
                                             "required": True}])
        self.type.calendars.add(self.calendar)

    def book(self, start: dt.datetime, name: str = "Pat Lee", **fields) -> Appointment:
        return booking.appointment_book(type_=self.type, calendar=self.calendar, start=start, by="ana@switchboard.test",
                                        name=name, phone="+12125550199", **fields)


@pytest.fixture
def tom(world, clock):
    with schema_context("bobsplumbing"):
        yield Tom()


@pytest.fixture
def bea(world, logged_in):
    return logged_in(world.bea, BOB_HOST)


@pytest.fixture
def bob(world, logged_in):
    return logged_in(world.bob, BOB_HOST)


def text(response) -> str:
    return response.content.decode()


# --- Reading ------------------------------------------------------------------------------------

def test_a_client_user_sees_the_week_with_its_bookings_in_local_time(tom, bea):
    pat = tom.book(at(11), answers={"problem": "Leak"})
    tom.book(at(14, day=4), name="Quinn Rivera")
    response = bea.get(f"/schedule/{tom.calendar.pk}/?view=week&date=2026-06-03")
    assert response.status_code == HTTPStatus.OK
    page = text(response)
    # The week from Monday 1 June, seven columns; Pat on Tuesday at 11:00 New York time (15:00 UTC).
    assert page.count('<section class="cal-col') == 7 and 'data-date="2026-06-01"' in page
    tuesday = page.split('data-date="2026-06-02"')[1].split('data-date="2026-06-03"')[0]
    assert f'data-appointment="{pat.pk}"' in tuesday and "11:00–12:00" in tuesday and "Pat Lee" in tuesday
    assert "Quinn Rivera" in page.split('data-date="2026-06-04"')[1]
    # Placed by its real time: 11:00 is 11/24 of the day down; working hours 08:00–17:00 shaded.
    assert re.search(rf'data-top="45.833" data-height="4.167" data-appointment="{pat.pk}"', tuesday)
    assert 'data-top="33.333" data-height="37.5"' in tuesday
    # The live script's fragment is the grid alone.
    partial = text(bea.get(f"/schedule/{tom.calendar.pk}/?view=week&date=2026-06-03&partial=1"))
    assert "Pat Lee" in partial and "<html" not in partial
    # The list counts this week's appointments.
    listing = text(bea.get("/schedule/"))
    assert re.search(r'data-calendar="%d">.*?data-week-count>2<' % tom.calendar.pk, listing, re.S)


def test_a_day_the_clocks_change_is_drawn_in_real_time(tom):
    import time_machine

    with time_machine.travel(dt.datetime(2026, 10, 30, 9, tzinfo=NY), tick=False):
        # Sunday 1 November 2026: 01:00–02:00 happens twice in New York.
        day = selectors.calendar_days([tom.calendar], dt.date(2026, 11, 1), 1)[tom.calendar.pk][0]
        assert day.hours == 25
        assert [label for _, label in day.ticks[:4]] == ["00:00", "01:00", "01:00 (again)", "02:00"]
        # Working hours 08:00–17:00 local: 9 real hours from 9/25 of the day down.
        assert day.open == [(36.0, 36.0)]
        spring = selectors.calendar_days([tom.calendar], dt.date(2027, 3, 14), 1)[tom.calendar.pk][0]
        assert spring.hours == 23 and "02:00" not in [label for _, label in spring.ticks]


def test_an_appointment_across_the_change_is_placed_by_its_instants(tom):
    import time_machine

    with time_machine.travel(dt.datetime(2026, 10, 30, 9, tzinfo=NY), tick=False):
        visit = tom.book(dt.datetime(2026, 11, 1, 10, tzinfo=NY))
        day = selectors.calendar_days([tom.calendar], dt.date(2026, 11, 1), 1)[tom.calendar.pk][0]
        (placed,) = day.appointments
        assert placed.appointment.pk == visit.pk and placed.label == "10:00–11:00"
        assert (placed.top, placed.height) == (44.0, 4.0)  # 11 real hours after midnight, of 25


def test_a_hold_is_shown_dimmed_and_a_cancelled_one_not_at_all(tom, bea):
    hold = booking.slot_hold(type_=tom.type, calendar=tom.calendar, start=at(13), by="ana")
    gone = tom.book(at(15), name="Gone Soon")
    booking.appointment_cancel(appointment=gone, by="bea", reason="Moved away")
    page = text(bea.get(f"/schedule/{tom.calendar.pk}/?view=day&date=2026-06-02"))
    assert re.search(rf'class="cal-appt status-held held"\s+data-top="[\d.]+" data-height="[\d.]+" '
                     rf'data-appointment="{hold.pk}"', page)
    assert "Gone Soon" not in page


def test_bad_dates_and_views_are_refused_in_words(tom, bea):
    response = bea.get(f"/schedule/{tom.calendar.pk}/?date=2026-13-01")
    assert response.status_code == HTTPStatus.BAD_REQUEST and "not a date" in text(response)
    response = bea.get(f"/schedule/{tom.calendar.pk}/?view=month")
    assert response.status_code == HTTPStatus.BAD_REQUEST and "week or day" in text(response)
    assert bea.get("/schedule/day/?date=9999-12-31").status_code == HTTPStatus.BAD_REQUEST


def test_every_calendar_side_by_side(tom, bea):
    with schema_context("bobsplumbing"):
        sue = Calendar.objects.create(name="Sue", time_zone="America/Los_Angeles")
    tom.book(at(11))
    page = text(bea.get("/schedule/day/?date=2026-06-02"))
    assert page.count('<section class="cal-col') == 2 and "Sue" in page and "Pat Lee" in page
    assert f'data-calendars="{tom.calendar.pk},{sue.pk}"' in page or f'data-calendars="{sue.pk},{tom.calendar.pk}"' in page


# --- Booking ------------------------------------------------------------------------------------

def test_booking_from_the_portal(tom, bea, world):
    page = text(bea.get(f"/schedule/book/?type={tom.type.pk}"))
    # The next free times, the first at 10:00 (an hour's notice), in New York time.
    assert slot_value(tom.calendar.pk, at(10)) in page and "Tue 2 Jun, 10:00 EDT" in page
    assert 'name="answer_problem"' in page
    response = bea.post("/schedule/book/", {"type": tom.type.pk, "slot": slot_value(tom.calendar.pk, at(10)),
                                            "name": "Rae Smith", "phone": "(212) 555-0142", "email": "",
                                            "answer_problem": "No hot water"})
    assert response.status_code == HTTPStatus.FOUND
    with schema_context("bobsplumbing"):
        appointment = Appointment.objects.get(name="Rae Smith")
    assert response["Location"] == f"/schedule/appointments/{appointment.pk}/"
    assert appointment.start == at(10) and appointment.status == "booked" and appointment.phone == "+12125550142"
    assert appointment.answers == {"problem": "No hot water"} and "bea@bobs.test" in appointment.booked_by
    detail = text(bea.get(response["Location"]))
    assert "Rae Smith" in detail and "No hot water" in detail and "booked" in detail.lower()


def test_booking_asks_for_what_is_missing(tom, bea):
    response = bea.post("/schedule/book/", {"type": tom.type.pk, "slot": "", "name": "", "phone": "not a phone"})
    page = text(response)
    assert response.status_code == HTTPStatus.OK
    assert "Choose a time." in page and "This field is required." in page and "is not a phone number" in page
    with schema_context("bobsplumbing"):
        assert not Appointment.objects.exists()


def test_a_slot_just_taken_offers_the_next_free_ones(tom, bea):
    page = text(bea.get(f"/schedule/book/?type={tom.type.pk}"))
    assert slot_value(tom.calendar.pk, at(10)) in page
    tom.book(at(10), name="Faster Caller")  # an agent, meanwhile
    response = bea.post("/schedule/book/", {"type": tom.type.pk, "slot": slot_value(tom.calendar.pk, at(10)),
                                            "name": "Slow Clicker", "answer_problem": "Drip"})
    page = text(response)
    assert response.status_code == HTTPStatus.OK
    assert "Just taken — here are the next free slots." in page
    # 10:00 and its half-hour drive take 11:00 too: the next is 12:00, and 10:00 is not offered.
    assert slot_value(tom.calendar.pk, at(12)) in page and slot_value(tom.calendar.pk, at(10)) not in page
    assert 'value="Slow Clicker"' in page  # what she typed is kept
    with schema_context("bobsplumbing"):
        assert not Appointment.objects.filter(name="Slow Clicker").exists()


def test_a_tampered_slot_on_a_calendar_not_of_the_type_is_refused(tom, bea):
    with schema_context("bobsplumbing"):
        other = Calendar.objects.create(name="Not offering it")
    response = bea.post("/schedule/book/", {"type": tom.type.pk, "slot": slot_value(other.pk, at(10)),
                                            "name": "Mallory", "answer_problem": "x"})
    assert "Choose one of the times offered." in text(response)
    response = bea.post("/schedule/book/", {"type": tom.type.pk, "slot": "garbage", "name": "Mallory",
                                            "answer_problem": "x"})
    assert "Choose one of the times offered." in text(response)
    with schema_context("bobsplumbing"):
        assert not Appointment.objects.exists()


def test_cancel_without_a_reason_is_refused(tom, bea):
    pat = tom.book(at(11))
    response = bea.post(f"/schedule/appointments/{pat.pk}/cancel", {"reason": "   "})
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "Say why it is cancelled" in text(response)
    with schema_context("bobsplumbing"):
        pat.refresh_from_db()
        assert pat.status == "booked"
    response = bea.post(f"/schedule/appointments/{pat.pk}/cancel", {"reason": "Fixed it himself"})
    assert response.status_code == HTTPStatus.FOUND
    with schema_context("bobsplumbing"):
        pat.refresh_from_db()
        assert pat.status == "cancelled"
        assert [(e.kind, e.detail) for e in pat.events.all()] == [("booked", "Repair visit with Tom."),
                                                                  ("cancelled", "Fixed it himself")]


def test_reschedule_keeps_the_history(tom, bea):
    pat = tom.book(at(11))
    page = text(bea.get(f"/schedule/appointments/{pat.pk}/reschedule"))
    assert slot_value(tom.calendar.pk, at(14)) in page
    response = bea.post(f"/schedule/appointments/{pat.pk}/reschedule",
                        {"slot": slot_value(tom.calendar.pk, at(14)), "reason": "Caller asked for the afternoon"})
    assert response.status_code == HTTPStatus.FOUND
    with schema_context("bobsplumbing"):
        pat.refresh_from_db()
        assert pat.start == at(14)
        moved = pat.events.get(kind="rescheduled")
        assert moved.detail == "Caller asked for the afternoon"
        assert dt.datetime.fromisoformat(moved.data["before"]["start"]) == at(11)
    detail = text(bea.get(f"/schedule/appointments/{pat.pk}/"))
    assert detail.index('data-kind="booked"') < detail.index('data-kind="rescheduled"')
    assert "Caller asked for the afternoon" in detail


def test_reschedule_onto_a_time_taken_meanwhile_offers_others(tom, bea):
    pat = tom.book(at(11))
    tom.book(at(15), name="Quick")
    response = bea.post(f"/schedule/appointments/{pat.pk}/reschedule",
                        {"slot": slot_value(tom.calendar.pk, at(15)), "reason": ""})
    assert "Just taken" in text(response)
    with schema_context("bobsplumbing"):
        pat.refresh_from_db()
        assert pat.start == at(11) and [e.kind for e in pat.events.all()] == ["booked"]


def test_done_or_no_show_only_once_it_started(tom, bea, clock):
    pat = tom.book(at(11))
    bea.post(f"/schedule/appointments/{pat.pk}/done")
    with schema_context("bobsplumbing"):
        pat.refresh_from_db()
        assert pat.status == "booked"
    clock.shift(dt.timedelta(hours=3))
    assert "Mark no-show" in text(bea.get(f"/schedule/appointments/{pat.pk}/"))
    bea.post(f"/schedule/appointments/{pat.pk}/no-show")
    bea.post(f"/schedule/appointments/{pat.pk}/done")  # corrected
    with schema_context("bobsplumbing"):
        pat.refresh_from_db()
        assert pat.status == "done"
        assert [(e.kind, e.data.get("before")) for e in pat.events.all()] == [
            ("booked", None), ("no_show", "booked"), ("done", "no_show")]


# --- Editors ------------------------------------------------------------------------------------

def _hours_post(rows: list[tuple[str, str, str]]) -> dict:
    data = {"hours-TOTAL_FORMS": str(len(rows)), "hours-INITIAL_FORMS": "0", "hours-MIN_NUM_FORMS": "0",
            "hours-MAX_NUM_FORMS": "70"}
    for i, (weekday, start, end) in enumerate(rows):
        data.update({f"hours-{i}-weekday": weekday, f"hours-{i}-start": start, f"hours-{i}-end": end})
    return data


def _week(calendar) -> list[tuple[int, dt.time, dt.time]]:
    with schema_context("bobsplumbing"):
        return [(h.weekday, h.start, h.end) for h in WorkingHours.objects.filter(calendar=calendar)]


def test_the_hours_editor_replaces_the_week(tom, bob):
    response = bob.post(f"/schedule/{tom.calendar.pk}/hours", _hours_post([
        ("0", "09:00", "12:00"), ("0", "13:00", "17:00"), ("4", "22:00", "06:00"), ("5", "10:00", "00:00"),
        ("", "", "")]))
    assert response.status_code == HTTPStatus.FOUND
    assert _week(tom.calendar) == [(0, dt.time(9), dt.time(12)), (0, dt.time(13), dt.time(17)),
                                   (4, dt.time(22), dt.time(6)), (5, dt.time(10), dt.time(23, 59, 59))]
    page = text(bob.get(f"/schedule/{tom.calendar.pk}/hours"))
    assert 'value="00:00"' in page  # midnight is shown as it was typed


def test_the_hours_editor_rejects_bad_input_with_field_errors_and_writes_nothing(tom, bob):
    before = _week(tom.calendar)
    response = bob.post(f"/schedule/{tom.calendar.pk}/hours", _hours_post([
        ("0", "09:00", "12:00"), ("0", "11:00", "13:00")]))
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "Row 2: From: Overlaps Monday 09:00–12:00." in text(response)
    # A Sunday night shift runs into Monday morning.
    response = bob.post(f"/schedule/{tom.calendar.pk}/hours", _hours_post([
        ("6", "22:00", "07:00"), ("0", "06:00", "10:00")]))
    assert "Overlaps Sunday 22:00–07:00." in text(response)
    response = bob.post(f"/schedule/{tom.calendar.pk}/hours", _hours_post([
        ("1", "09:00", ""), ("2", "25:00", "10:00"), ("3", "10:00", "10:00")]))
    page = text(response)
    assert "Row 1: To: Needed: a day, a start and an end" in page
    assert "Row 2: From: Enter a valid time." in page
    assert "Starts and ends at the same time" in page
    assert _week(tom.calendar) == before


def test_a_client_user_cannot_edit(tom, bea):
    before = _week(tom.calendar)
    response = bea.post(f"/schedule/{tom.calendar.pk}/hours", _hours_post([("0", "09:00", "10:00")]))
    assert response.status_code == HTTPStatus.FORBIDDEN
    assert _week(tom.calendar) == before
    page = text(bea.get(f"/schedule/{tom.calendar.pk}/hours"))
    assert 'id="hours-readonly"' in page and 'id="hours"' not in page
    assert bea.post(f"/schedule/{tom.calendar.pk}/exceptions", {"exception-date": "2026-06-03",
                                                                "exception-available": "0"}).status_code == 403
    assert bea.get("/schedule/types/new").status_code == HTTPStatus.FORBIDDEN
    assert bea.post(f"/schedule/types/{tom.type.pk}/", {"name": "Renamed"}).status_code == HTTPStatus.FORBIDDEN
    assert bea.post(f"/schedule/{tom.calendar.pk}/feed/renew").status_code == HTTPStatus.FORBIDDEN
    with schema_context("bobsplumbing"):
        assert not CalendarException.objects.exists()
        assert AppointmentType.objects.get(pk=tom.type.pk).name == "Repair visit"


def test_an_exception_takes_a_day_off(tom, bob):
    response = bob.post(f"/schedule/{tom.calendar.pk}/exceptions", {
        "exception-date": "2026-06-02", "exception-available": "0", "exception-start": "12:00", "exception-end": ""})
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "Give both times, or neither for the whole day." in text(response)
    response = bob.post(f"/schedule/{tom.calendar.pk}/exceptions", {
        "exception-date": "2026-06-02", "exception-available": "0", "exception-reason": "Dentist"})
    assert response.status_code == HTTPStatus.FOUND
    with schema_context("bobsplumbing"):
        free = selectors.appointment_slots(tom.type, count=1)
        assert free[0].start == at(8, day=3)  # nothing left on the day off
    page = text(bob.get(f"/schedule/{tom.calendar.pk}/?view=day&date=2026-06-02"))
    assert "cal-open" not in page and "Closed" in page


def test_the_type_editor_saves_calendars_and_intake_fields_in_one_go(tom, bob):
    base = {"name": "Estimate", "duration_minutes": "45", "buffer_before_minutes": "0", "buffer_after_minutes": "15",
            "step_minutes": "15", "min_notice_minutes": "120", "horizon_days": "30", "capacity": "1",
            "arrival_window_minutes": "120", "calendars": [str(tom.calendar.pk)], "active": "on",
            "intake-TOTAL_FORMS": "2", "intake-INITIAL_FORMS": "0", "intake-MIN_NUM_FORMS": "0",
            "intake-MAX_NUM_FORMS": "40",
            "intake-0-name": "address", "intake-0-label": "Service address", "intake-0-type": "address",
            "intake-0-required": "on", "intake-1-name": "address", "intake-1-label": "Again", "intake-1-type": "text"}
    response = bob.post("/schedule/types/new", base)
    assert response.status_code == HTTPStatus.BAD_REQUEST, text(response)
    assert "Intake field 2: Name: “address” is asked twice." in text(response)
    with schema_context("bobsplumbing"):
        assert not AppointmentType.objects.filter(name="Estimate").exists()
    response = bob.post("/schedule/types/new", {**base, "intake-1-name": "2bad"})
    assert "Letters, digits and underscores" in text(response)
    response = bob.post("/schedule/types/new", {**base, "name": "Repair visit", "intake-1-name": "", "intake-1-label": ""})
    assert "There is a type called “Repair visit” already." in text(response)
    response = bob.post("/schedule/types/new", {**base, "intake-1-name": "", "intake-1-label": ""})
    assert response.status_code == HTTPStatus.FOUND
    with schema_context("bobsplumbing"):
        estimate = AppointmentType.objects.get(name="Estimate")
        assert list(estimate.calendars.all()) == [tom.calendar] and estimate.arrival_window_minutes == 120
        assert estimate.intake_fields == [{"name": "address", "label": "Service address", "type": "address",
                                           "required": True}]


def test_a_type_with_appointments_is_not_deleted(tom, bob):
    tom.book(at(11))
    response = bob.post(f"/schedule/types/{tom.type.pk}/delete")
    assert response.status_code == HTTPStatus.FOUND
    with schema_context("bobsplumbing"):
        assert AppointmentType.objects.filter(pk=tom.type.pk).exists()
    assert "make it inactive instead" in text(bob.get("/schedule/"))


def test_reminder_rules(tom, bob):
    response = bob.post("/schedule/reminders/new", {"kind": "reminder", "channel": "sms", "minutes_before": ""})
    assert response.status_code == HTTPStatus.BAD_REQUEST and "say how long" in text(response)
    response = bob.post("/schedule/reminders/new", {"kind": "reminder", "channel": "sms", "minutes_before": "120",
                                                    "types": [str(tom.type.pk)], "active": "on"})
    assert response.status_code == HTTPStatus.FOUND
    page = text(bob.get("/schedule/"))
    assert "2 h before" in page and "Repair visit" in page


def test_renewing_the_feed_revokes_the_old_token(tom, bob):
    old = tom.calendar.feed_token
    page = text(bob.get(f"/schedule/{tom.calendar.pk}/"))
    assert f"/calendars/feed/{old}.ics" in page
    bob.post(f"/schedule/{tom.calendar.pk}/feed/renew")
    with schema_context("bobsplumbing"):
        tom.calendar.refresh_from_db()
    assert tom.calendar.feed_token != old
    assert f"/calendars/feed/{tom.calendar.feed_token}.ics" in text(bob.get(f"/schedule/{tom.calendar.pk}/"))


# --- Isolation ----------------------------------------------------------------------------------

@pytest.fixture
def charlies_booking(world, tom):
    """Charlie's Clinic's calendar and appointment, with ids Bob's schema does not have."""
    with schema_context("bobsplumbing"):
        top = max(Calendar.objects.order_by("-pk").first().pk, Appointment.objects.order_by("-pk").first().pk
                  if Appointment.objects.exists() else 0)
    with schema_context("charlieclinic"):
        doctor = Calendar.objects.create(pk=top + 1000, name="Dr. Who", time_zone="America/Chicago")
        WorkingHours.objects.create(calendar=doctor, weekday=1, start=dt.time(8), end=dt.time(17))
        type_ = AppointmentType.objects.create(pk=top + 1000, name="Check-up", min_notice_minutes=0)
        type_.calendars.add(doctor)
        seen = Appointment.objects.create(pk=top + 1000, calendar=doctor, type=type_, name="Private Patient",
                                          **booking._times(type_, at(13)))
    return doctor, type_, seen


def test_another_clients_calendars_and_appointments_are_not_found(charlies_booking, bob):
    doctor, type_, seen = charlies_booking
    for url in (f"/schedule/{doctor.pk}/", f"/schedule/{doctor.pk}/hours", f"/schedule/appointments/{seen.pk}/",
                f"/schedule/appointments/{seen.pk}/reschedule", f"/schedule/book/?type={type_.pk}",
                f"/schedule/types/{type_.pk}/"):
        assert bob.get(url).status_code == HTTPStatus.NOT_FOUND, url
    for url, data in ((f"/schedule/appointments/{seen.pk}/cancel", {"reason": "hostile"}),
                      (f"/schedule/{doctor.pk}/feed/renew", {}), (f"/schedule/{doctor.pk}/exceptions", {}),
                      (f"/schedule/appointments/{seen.pk}/done", {})):
        assert bob.post(url, data).status_code == HTTPStatus.NOT_FOUND, url
    assert "Private Patient" not in text(bob.get("/schedule/day/?date=2026-06-02"))
    assert "Dr. Who" not in text(bob.get("/schedule/"))
    with schema_context("charlieclinic"):
        seen.refresh_from_db()
        doctor.refresh_from_db()
        assert seen.status == "booked" and not CalendarException.objects.exists()


def test_a_session_of_one_client_is_nobody_on_anothers_host(charlies_booking, world, logged_in):
    doctor, _, seen = charlies_booking
    bob_on_charlies = logged_in(world.bob, CHARLIE_HOST)
    for url in ("/schedule/", f"/schedule/{doctor.pk}/", f"/schedule/appointments/{seen.pk}/"):
        response = bob_on_charlies.get(url)
        assert response.status_code == HTTPStatus.FOUND and "/accounts/login/" in response["Location"], url
    response = bob_on_charlies.post(f"/schedule/appointments/{seen.pk}/cancel", {"reason": "hostile"})
    assert response.status_code == HTTPStatus.FOUND and "/accounts/login/" in response["Location"]
    with schema_context("charlieclinic"):
        seen.refresh_from_db()
        assert seen.status == "booked"
