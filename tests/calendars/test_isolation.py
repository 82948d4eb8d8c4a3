"""One client's calendars and appointments are invisible to another's, even where their ids
are the same in both schemas: a booking in Charlie's schema does not take the time of Bob's
calendar with the same id, and Bob's slot search, history and holds sweep never see
Charlie's rows. (The feed, the portal and the console have their own isolation tests.)"""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest
import time_machine
from django_tenants.utils import schema_context

from calendars.models import Appointment, AppointmentEvent, AppointmentType, Calendar, WorkingHours
from calendars.selectors import appointment_slots, appointments_between
from calendars.services import booking

pytestmark = pytest.mark.django_db
NY = zoneinfo.ZoneInfo("America/New_York")
MONDAY_8 = dt.datetime(2026, 6, 1, 8, 0, tzinfo=NY)


def _same_calendar(schema: str, pk: int):
    with schema_context(schema):
        calendar = Calendar.objects.create(pk=pk, name="Dr. Same", time_zone="America/New_York")
        WorkingHours.objects.bulk_create([WorkingHours(calendar=calendar, weekday=d, start=dt.time(9), end=dt.time(12))
                                          for d in range(7)])
        type_ = AppointmentType.objects.create(pk=pk, name="Visit", duration_minutes=60, step_minutes=60,
                                               min_notice_minutes=0, horizon_days=7)
        type_.calendars.add(calendar)
    return calendar, type_


def test_the_same_ids_in_two_clients_are_two_calendars(world):
    with time_machine.travel(MONDAY_8, tick=False):
        bob_cal, bob_type = _same_calendar("bobsplumbing", 4242)
        charlie_cal, charlie_type = _same_calendar("charlieclinic", 4242)
        nine = dt.datetime(2026, 6, 1, 9, 0, tzinfo=NY)
        with schema_context("charlieclinic"):
            booking.appointment_book(type_=charlie_type, calendar=charlie_cal, start=nine, by="ana", name="Charlie's")
            booking.slot_hold(type_=charlie_type, calendar=charlie_cal, start=nine + dt.timedelta(hours=1), by="ana")
        with schema_context("bobsplumbing"):
            # Charlie's booking and hold on "calendar 4242" do not touch Bob's calendar 4242.
            assert [s.start for s in appointment_slots(bob_type, count=2)] == [nine, nine + dt.timedelta(hours=1)]
            assert list(appointments_between(nine, nine + dt.timedelta(days=1))) == []
            assert not AppointmentEvent.objects.exists()
            mine = booking.appointment_book(type_=bob_type, calendar=bob_cal, start=nine, by="ben", name="Bob's")
        with time_machine.travel(MONDAY_8 + dt.timedelta(hours=1)), schema_context("bobsplumbing"):
            assert booking.holds_expire() == 0  # Charlie's hold is Charlie's sweep's
        with schema_context("charlieclinic"):
            assert list(Appointment.objects.values_list("name", flat=True)) == ["Charlie's", ""]
            assert not Appointment.objects.filter(pk=mine.pk, name="Bob's").exists()
