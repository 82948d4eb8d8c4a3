"""Twenty agents booking one slot at the same instant, each in its own transaction on its own
connection: exactly one booking; every other agent is told "just taken" with other slots.
Not wrapped in a test transaction (the threads must see committed rows); cleans up after."""

from __future__ import annotations

import datetime as dt
import threading
import zoneinfo

import pytest
from django.db import connection
from django_tenants.utils import schema_context

from calendars.models import Appointment, AppointmentType, Calendar, WorkingHours
from calendars.services import booking

NY = zoneinfo.ZoneInfo("America/New_York")


@pytest.fixture
def committed_visit(world, django_db_blocker):
    import time_machine

    with time_machine.travel(dt.datetime(2026, 6, 2, 9, 0, tzinfo=NY), tick=True), django_db_blocker.unblock():
        with schema_context("bobsplumbing"):
            tom = Calendar.objects.create(name="Race Tom", time_zone="America/New_York")
            WorkingHours.objects.bulk_create([WorkingHours(calendar=tom, weekday=d, start=dt.time(8),
                                                           end=dt.time(17)) for d in range(7)])
            type_ = AppointmentType.objects.create(name="Race visit", duration_minutes=60, step_minutes=60,
                                                   min_notice_minutes=60, horizon_days=14)
            type_.calendars.add(tom)
        yield type_, tom
        with schema_context("bobsplumbing"):
            Appointment.objects.filter(calendar=tom).delete()
            type_.delete()
            tom.delete()


def test_twenty_agents_booking_one_slot_make_exactly_one_booking(committed_visit, django_db_blocker):
    type_, tom = committed_visit
    start = dt.datetime(2026, 6, 2, 13, 0, tzinfo=NY)
    barrier = threading.Barrier(20)
    results: list[object] = []

    def book(n: int):
        with django_db_blocker.unblock():
            try:
                with schema_context("bobsplumbing"):
                    barrier.wait(10)
                    try:
                        results.append(booking.appointment_book(type_=type_, calendar=tom, start=start,
                                                                by=f"agent {n}"))
                    except booking.SlotTaken as exc:
                        results.append(exc)
            finally:
                connection.close()

    threads = [threading.Thread(target=book, args=(n,)) for n in range(20)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    booked = [r for r in results if isinstance(r, Appointment)]
    taken = [r for r in results if isinstance(r, booking.SlotTaken)]
    assert len(booked) == 1 and len(taken) == 19, results
    assert all(exc.alternatives and exc.alternatives[0].start != start for exc in taken)
    with django_db_blocker.unblock(), schema_context("bobsplumbing"):
        assert Appointment.objects.filter(calendar=tom, status="booked").count() == 1
