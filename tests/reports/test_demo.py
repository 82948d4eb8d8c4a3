"""The demo's seeded history (reports/demo.py): weeks of calls, messages and appointments,
written fast, idempotent, out of the way of the live demo (nothing unacknowledged, nothing booked)."""

from __future__ import annotations

import datetime as dt
import time

import pytest
from django_tenants.utils import schema_context

from answering.models import CallRecord, Message
from calendars.models import Appointment, AppointmentEvent, AppointmentType, Calendar
from portal.selectors import unacknowledged_count
from reports.demo import PREFIX, history_demo_seed
from reports.figures import Period, report_build

pytestmark = pytest.mark.django_db
TODAY = dt.date(2026, 11, 20)


def test_the_history_is_weeks_of_realistic_days_written_once(world):
    with schema_context("bobsplumbing"):
        calendar = Calendar.objects.create(name="Van 1")
        AppointmentType.objects.create(name="Visit", duration_minutes=60).calendars.add(calendar)
        before = unacknowledged_count()
    started = time.perf_counter()
    written = history_demo_seed("bobsplumbing", weeks=4, today=TODAY)
    elapsed = time.perf_counter() - started
    assert written > 500 and elapsed < 10
    assert history_demo_seed("bobsplumbing", weeks=4, today=TODAY) == 0  # idempotent
    with schema_context("bobsplumbing"):
        assert CallRecord.objects.filter(call_sid__startswith=PREFIX).count() == written
        report = report_build(Period(TODAY - dt.timedelta(days=28), TODAY - dt.timedelta(days=1), "America/New_York"))
        assert unacknowledged_count() == before  # the history's messages are acknowledged and filed
        assert not Message.objects.filter(call_sid__startswith=PREFIX, filed_at__isnull=True).exists()
        assert not Appointment.objects.filter(status__in=Appointment.BLOCKING, booked_by="Demo history").exists()
        assert AppointmentEvent.objects.filter(kind="booked", at__lt=dt.datetime(2026, 11, 20, tzinfo=dt.UTC)).exists()
        # Nothing on or after today (the live demo's day is its own).
        assert not CallRecord.objects.filter(call_sid__startswith=PREFIX,
                                             arrived_at__gte=dt.datetime(2026, 11, 20, 5, tzinfo=dt.UTC)).exists()
    f = report.total.figures
    assert f["calls"] == written and len(report.rows) == 28
    assert 0.6 < f["service_level"] <= 1 and 0 < f["abandonment_rate"] < 0.2 and 0 < f["short_abandoned"]
    assert 60 < f["average_handle_time"] < 600 and f["occupancy"] is None  # the platform's figure
    assert f["messages"] > 100 and f["dispatches"] > 0 and f["time_to_acknowledge"] > 0
    assert f["booked"] > 0 and f["no_shows"] > 0 and f["confirmed"] > 0
    # Weekdays are busier than weekends.
    weekdays = [r.figures["calls"] for r in report.rows if r.key.weekday() < 5]
    weekends = [r.figures["calls"] for r in report.rows if r.key.weekday() >= 5]
    assert min(weekdays) > max(weekends)


def test_a_client_that_does_not_exist_gets_nothing(world):
    assert history_demo_seed("nobody") == 0
