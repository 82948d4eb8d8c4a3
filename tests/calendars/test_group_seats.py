"""Group sessions: a class of three seats fills up and no further; an ordinary booking and a
group session never share a room's time; PostgreSQL refuses a second row on one seat; and
twelve people racing for three seats get exactly three."""

from __future__ import annotations

import datetime as dt
import threading
import zoneinfo

import pytest
from django.db import IntegrityError, connection, transaction
from django.db.backends.postgresql.psycopg_any import DateTimeTZRange
from django_tenants.utils import schema_context

from calendars.models import Appointment, AppointmentType, Calendar, WorkingHours
from calendars.selectors import appointment_slots
from calendars.services import booking
from calendars.services.booking import SlotTaken

NY = zoneinfo.ZoneInfo("America/New_York")
TUESDAY_8 = dt.datetime(2026, 6, 2, 8, 0, tzinfo=NY)


def at(hour: int) -> dt.datetime:
    return dt.datetime(2026, 6, 2, hour, 0, tzinfo=NY)


def _room(name: str):
    room = Calendar.objects.create(name=name, kind=Calendar.Kind.ROOM, time_zone="America/New_York")
    WorkingHours.objects.bulk_create([WorkingHours(calendar=room, weekday=d, start=dt.time(8), end=dt.time(17))
                                      for d in range(7)])
    group = AppointmentType.objects.create(name=f"{name} class", duration_minutes=60, step_minutes=60, capacity=3,
                                           min_notice_minutes=0, horizon_days=14)
    single = AppointmentType.objects.create(name=f"{name} private", duration_minutes=60, step_minutes=60,
                                            min_notice_minutes=0, horizon_days=14)
    other_group = AppointmentType.objects.create(name=f"{name} other class", duration_minutes=90, step_minutes=30,
                                                 capacity=4, min_notice_minutes=0, horizon_days=14)
    for type_ in (group, single, other_group):
        type_.calendars.add(room)
    return room, group, single, other_group


@pytest.fixture
def studio(world):
    import time_machine

    with time_machine.travel(TUESDAY_8, tick=False), schema_context("bobsplumbing"):
        yield _room("Studio")


@pytest.mark.django_db
def test_a_class_of_three_fills_up_and_no_further(studio):
    room, group, _, _ = studio
    seats = [booking.appointment_book(type_=group, calendar=room, start=at(10), by="ana", name=f"P{n}")
             for n in range(3)]
    assert sorted(a.seat for a in seats) == [0, 1, 2]
    with pytest.raises(SlotTaken) as full:
        booking.appointment_book(type_=group, calendar=room, start=at(10), by="ana", name="P4")
    assert at(10) not in [s.start for s in full.value.alternatives]
    assert at(10) not in [s.start for s in appointment_slots(group, count=5)]
    # A seat given up is offered again, and taken again.
    booking.appointment_cancel(appointment=seats[1], by="ana", reason="Cannot make it")
    assert appointment_slots(group, count=1, after=at(10))[0].start == at(10)
    assert booking.appointment_book(type_=group, calendar=room, start=at(10), by="ana").seat == 1


@pytest.mark.django_db
def test_a_private_booking_and_a_class_never_share_the_room(studio):
    room, group, single, other_group = studio
    booking.appointment_book(type_=group, calendar=room, start=at(10), by="ana")
    with pytest.raises(SlotTaken):
        booking.appointment_book(type_=single, calendar=room, start=at(10), by="ben")
    booking.appointment_book(type_=single, calendar=room, start=at(12), by="ben")
    with pytest.raises(SlotTaken):
        booking.appointment_book(type_=group, calendar=room, start=at(12), by="ana")
    # Another class overlapping the first (10:30–12:00 over 10:00–11:00) on other seats: refused too.
    with pytest.raises(SlotTaken):
        booking.appointment_book(type_=other_group, calendar=room, start=at(10) + dt.timedelta(minutes=30), by="ana")
    assert Appointment.objects.filter(calendar=room, status="booked").count() == 2


@pytest.mark.django_db
def test_postgres_refuses_a_second_row_on_one_seat_and_a_booking_over_a_seat(studio):
    room, group, single, _ = studio
    booking.appointment_book(type_=group, calendar=room, start=at(10), by="ana")
    blocked = DateTimeTZRange(at(10), at(11), "[)")
    for seat in (0, None):  # the same seat; the whole room
        with pytest.raises(IntegrityError, match="appointment_no_overlap"), transaction.atomic():
            Appointment.objects.create(calendar=room, type=group if seat == 0 else single, start=at(10), end=at(11),
                                       blocked=blocked, seat=seat)
    Appointment.objects.create(calendar=room, type=group, start=at(10), end=at(11), blocked=blocked, seat=1)


@pytest.fixture
def committed_studio(world, django_db_blocker):
    import time_machine

    with time_machine.travel(TUESDAY_8, tick=True), django_db_blocker.unblock():
        with schema_context("bobsplumbing"):
            made = _room("Race studio")
        yield made
        with schema_context("bobsplumbing"):
            room = made[0]
            Appointment.objects.filter(calendar=room).delete()
            AppointmentType.objects.filter(calendars=room).delete()
            room.delete()


def test_twelve_people_racing_for_three_seats_get_exactly_three(committed_studio, django_db_blocker):
    room, group, _, _ = committed_studio
    barrier = threading.Barrier(12)
    results: list[object] = []

    def book(n: int):
        with django_db_blocker.unblock():
            try:
                with schema_context("bobsplumbing"):
                    barrier.wait(10)
                    try:
                        results.append(booking.appointment_book(type_=group, calendar=room, start=at(14),
                                                                by=f"agent {n}"))
                    except SlotTaken as exc:
                        results.append(exc)
            finally:
                connection.close()

    threads = [threading.Thread(target=book, args=(n,)) for n in range(12)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    booked = [r for r in results if isinstance(r, Appointment)]
    assert len(booked) == 3 and len(results) == 12, results
    assert sorted(a.seat for a in booked) == [0, 1, 2]
    with django_db_blocker.unblock(), schema_context("bobsplumbing"):
        assert Appointment.objects.filter(calendar=room, status="booked", start=at(14)).count() == 3
