"""Booking with no double booking: PostgreSQL's exclusion constraint over each calendar's held
and booked time (buffers included), holds that expire by themselves, reschedule and cancel with
their history, and a client's calendars invisible from another's schema."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest
from django.db import IntegrityError, transaction
from django_tenants.utils import schema_context

from calendars.models import Appointment, AppointmentType, Calendar, WorkingHours
from calendars.services import booking
from calendars.services.booking import BookingRefused, SlotTaken

pytestmark = pytest.mark.django_db

NY = zoneinfo.ZoneInfo("America/New_York")
TUESDAY_9 = dt.datetime(2026, 6, 2, 9, 0, tzinfo=NY)


@pytest.fixture
def clock():
    import time_machine

    with time_machine.travel(TUESDAY_9, tick=False) as traveller:
        yield traveller


@pytest.fixture
def visit(world, clock):
    """Bob's technician Tom, 08:00–17:00 every day (New York); a one-hour visit with half an
    hour after it to drive, slots on the hour, an hour's notice."""
    with schema_context("bobsplumbing"):
        tom = Calendar.objects.create(name="Tom", time_zone="America/New_York")
        WorkingHours.objects.bulk_create([WorkingHours(calendar=tom, weekday=d, start=dt.time(8), end=dt.time(17))
                                          for d in range(7)])
        type_ = AppointmentType.objects.create(name="Repair visit", duration_minutes=60, buffer_after_minutes=30,
                                               step_minutes=60, min_notice_minutes=60, horizon_days=14)
        type_.calendars.add(tom)
        yield type_, tom


def at(hour: int, day: int = 2) -> dt.datetime:
    return dt.datetime(2026, 6, day, hour, 0, tzinfo=NY)


def test_a_booking_blocks_its_time_and_buffers(visit):
    type_, tom = visit
    with schema_context("bobsplumbing"):
        first = booking.appointment_book(type_=type_, calendar=tom, start=at(11), by="ana", name="Pat",
                                         phone="+12125550199")
        assert first.status == "booked" and first.end == at(12)
        assert (first.blocked.lower, first.blocked.upper) == (at(11), at(12) + dt.timedelta(minutes=30))
        # 12:00 would start inside the drive after 11:00's visit: refused, with what is free.
        with pytest.raises(SlotTaken) as taken:
            booking.appointment_book(type_=type_, calendar=tom, start=at(12), by="ben")
        assert taken.value.alternatives[0].start == at(13)
        assert "Just taken" in str(taken.value)
        assert [e.kind for e in first.events.all()] == ["booked"]


def test_postgresql_refuses_an_overlap_whatever_the_code_does(visit):
    type_, tom = visit
    with schema_context("bobsplumbing"):
        booking.appointment_book(type_=type_, calendar=tom, start=at(11), by="ana")
        times = booking._times(type_, at(11) + dt.timedelta(minutes=45))
        with pytest.raises(IntegrityError, match="appointment_no_overlap"), transaction.atomic():
            Appointment.objects.create(calendar=tom, type=type_, status="booked", **times)
        # A cancelled row is not in the way.
        Appointment.objects.create(calendar=tom, type=type_, status="cancelled", **times)


def test_outside_hours_too_soon_or_too_far_is_refused_in_words(visit):
    type_, tom = visit
    with schema_context("bobsplumbing"):
        for start in (at(9, 2), at(18, 3), at(10, 30)):  # an hour's notice; after hours; past the horizon
            with pytest.raises(BookingRefused, match="not bookable"):
                booking.appointment_book(type_=type_, calendar=tom, start=start, by="ana")


def test_a_hold_hides_the_slot_until_it_runs_out(visit, clock):
    type_, tom = visit
    with schema_context("bobsplumbing"):
        hold = booking.slot_hold(type_=type_, calendar=tom, start=at(14), by="ana", minutes=5)
        with pytest.raises(SlotTaken):
            booking.appointment_book(type_=type_, calendar=tom, start=at(14), by="ben")
        from calendars.selectors import appointment_slots

        assert at(14) not in [s.start for s in appointment_slots(type_, count=8)]
        clock.shift(dt.timedelta(minutes=6))  # the caller took too long
        assert at(14) in [s.start for s in appointment_slots(type_, count=8)]
        theirs = booking.appointment_book(type_=type_, calendar=tom, start=at(14), by="ben")
        assert theirs.status == "booked"
        hold.refresh_from_db()
        assert hold.status == "released" and [e.kind for e in hold.events.all()] == ["held", "hold_expired"]
        with pytest.raises(SlotTaken):  # Ana's hold is gone: she cannot book on it
            booking.appointment_book(type_=type_, calendar=tom, start=at(14), by="ana", hold=hold)


def test_the_holder_books_on_their_hold(visit):
    type_, tom = visit
    with schema_context("bobsplumbing"):
        hold = booking.slot_hold(type_=type_, calendar=tom, start=at(15), by="ana")
        booked = booking.appointment_book(type_=type_, calendar=tom, start=at(15), by="ana", hold=hold,
                                          name="Pat", answers={"problem": "leak"})
        assert booked.pk == hold.pk and booked.status == "booked" and booked.answers == {"problem": "leak"}
        assert [e.kind for e in booked.events.all()] == ["held", "booked"]


def test_reschedule_and_cancel_keep_the_history(visit):
    type_, tom = visit
    with schema_context("bobsplumbing"):
        appointment = booking.appointment_book(type_=type_, calendar=tom, start=at(11), by="ana")
        other = booking.appointment_book(type_=type_, calendar=tom, start=at(13), by="ben")
        with pytest.raises(SlotTaken):  # onto the other booking's drive: refused, nothing moved
            booking.appointment_reschedule(appointment=appointment, start=at(14), by="bea")
        moved = booking.appointment_reschedule(appointment=appointment, start=at(15), by="bea",
                                               reason="Customer at work until 3")
        assert moved.start == at(15)
        # Moving onto its own old time's neighbour is fine: it does not collide with itself.
        moved = booking.appointment_reschedule(appointment=moved, start=at(16), by="bea", reason="Later still")
        events = list(moved.events.values_list("kind", "detail", "data"))
        assert [k for k, _, _ in events] == ["booked", "rescheduled", "rescheduled"]
        assert dt.datetime.fromisoformat(events[1][2]["before"]["start"]) == at(11) and events[1][1] == "Customer at work until 3"
        with pytest.raises(BookingRefused, match="why"):
            booking.appointment_cancel(appointment=other, by="bea", reason=" ")
        cancelled = booking.appointment_cancel(appointment=other, by="bea", reason="Fixed it himself")
        assert cancelled.status == "cancelled"
        assert booking.appointment_book(type_=type_, calendar=tom, start=at(13), by="ana").status == "booked"


def test_one_clients_calendars_are_not_anothers(visit, world):
    with schema_context("charlieclinic"):
        assert not Calendar.objects.exists() and not AppointmentType.objects.exists()
        assert not Appointment.objects.exists()


def test_the_sweep_releases_holds_that_ran_out(visit, clock):
    type_, tom = visit
    with schema_context("bobsplumbing"):
        hold = booking.slot_hold(type_=type_, calendar=tom, start=at(12), by="ana", minutes=2)
        assert booking.holds_expire() == 0
        clock.shift(dt.timedelta(minutes=3))
    from calendars.tasks import holds_expire_task

    assert holds_expire_task() == 1  # the beat's task, across every client's schema
    with schema_context("bobsplumbing"):
        hold.refresh_from_db()
        assert hold.status == "released"


def test_a_local_start_in_the_repeated_hour_books_the_instant_it_names(world):
    """Fall back in New York (1 Nov 2026): 01:30 happens twice. A local start with fold=1 is the
    second 01:30 (06:30 UTC), and an hour from the first 01:30 (EDT) ends at 01:30 EST — one
    real hour, not the two that wall-clock arithmetic would give."""
    import time_machine

    with time_machine.travel(dt.datetime(2026, 10, 31, 12, 0, tzinfo=NY), tick=False), \
            schema_context("bobsplumbing"):
        night = Calendar.objects.create(name="Night line", time_zone="America/New_York")
        WorkingHours.objects.bulk_create([WorkingHours(calendar=night, weekday=d, start=dt.time(0),
                                                       end=dt.time(23, 59, 59)) for d in range(7)])
        type_ = AppointmentType.objects.create(name="Night call", duration_minutes=60, step_minutes=30,
                                               min_notice_minutes=0, horizon_days=7)
        type_.calendars.add(night)
        first = dt.datetime(2026, 11, 1, 1, 30, tzinfo=NY)
        second = first.replace(fold=1)
        early = booking.appointment_book(type_=type_, calendar=night, start=first, by="ana")
        assert early.start == dt.datetime(2026, 11, 1, 5, 30, tzinfo=dt.UTC)
        assert early.end - early.start == dt.timedelta(hours=1)
        assert early.end == dt.datetime(2026, 11, 1, 6, 30, tzinfo=dt.UTC)  # 01:30 EST
        late = booking.appointment_book(type_=type_, calendar=night, start=second, by="ben")
        assert late.start == dt.datetime(2026, 11, 1, 6, 30, tzinfo=dt.UTC)
