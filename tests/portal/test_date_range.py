"""Dates at the ends of the calendar in the portal's filters and export: a clear 400 naming the
field, never a 500 (a local day's bounds past year 1 or 9999 do not exist)."""

from __future__ import annotations

from datetime import UTC, date, datetime
from http import HTTPStatus
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone
from django_tenants.utils import schema_context

from answering.models import CallRecord
from portal.selectors import call_search, day_bounds, message_search
from tests.conftest import BOB_HOST
from tests.portal.conftest import take

pytestmark = pytest.mark.django_db
NY = ZoneInfo("America/New_York")
EXTREMES = [("0001-01-01", "2026-03-02"), ("2026-03-01", "9999-12-31"), ("0001-01-01", "9999-12-31"),
            ("1899-12-31", "2026-03-02"), ("2026-03-01", "3000-01-01")]
PAGES = ["/calls/?since={since}&until={until}", "/?since={since}&until={until}",
         "/?since={since}&until={until}&partial=1", "/messages/export.csv?since={since}&until={until}"]


@pytest.fixture
def march(world):
    with schema_context("bobsplumbing"):
        message = take(world.bobs, deliver=False, at=datetime(2026, 3, 1, 23, 30, tzinfo=NY), caller_name="Lee")
        CallRecord.objects.create(call_sid="CA" + "3" * 32, caller="+12125550147", number_dialed="+12125550111",
                                  arrived_at=datetime(2026, 3, 1, 23, 0, tzinfo=NY))
    return message


@pytest.mark.parametrize("page", PAGES)
@pytest.mark.parametrize(("since", "until"), EXTREMES)
def test_a_date_past_the_calendars_ends_is_a_400_naming_the_field(world, logged_in, march, page, since, until):
    response = logged_in(world.bea, BOB_HOST).get(page.format(since=since, until=until))
    assert response.status_code == HTTPStatus.BAD_REQUEST
    text = response.content.decode()
    assert response["Content-Type"] == "text/plain; charset=utf-8"
    assert "Enter a date between 1900-01-01 and 2999-12-31" in text
    assert ("From" if since != "2026-03-01" else "To") in text


@pytest.mark.parametrize("page", PAGES[:2])
def test_a_date_that_is_no_date_is_a_400_too(world, logged_in, march, page):
    response = logged_in(world.bea, BOB_HOST).get(page.format(since="2026-02-30", until="tomorrow"))
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "From: Enter a valid date." in response.content.decode()


@pytest.mark.parametrize("page", PAGES[:2])
def test_the_widest_dates_allowed_find_everything(world, logged_in, march, page):
    response = logged_in(world.bea, BOB_HOST).get(page.format(since="1900-01-01", until="2999-12-31"))
    assert response.status_code == HTTPStatus.OK
    assert ("+12125550147" if "calls" in page else "Lee") in response.content.decode()


def test_the_export_of_the_widest_range_allowed(world, logged_in, march):
    response = logged_in(world.bea, BOB_HOST).get("/messages/export.csv?since=1900-01-01&until=2999-12-31")
    assert response.status_code == HTTPStatus.OK
    assert str(march.pk) in b"".join(response.streaming_content).decode()


@pytest.mark.parametrize("time_zone", ["America/New_York", "Asia/Tokyo", "Pacific/Kiritimati", "UTC"])
def test_the_selectors_take_any_date_in_any_time_zone(world, march, time_zone):
    """Their other callers (and any future one) pass dates the form never checked: the first
    and last days there are mean no bound, not an overflow."""
    start, end = day_bounds(since=date.min, until=date.max, time_zone=time_zone)
    assert end is None  # the day after the last has no midnight
    # Year 1's first midnight is an instant west of UTC (in local mean time there), none east of it.
    assert start is None if time_zone == "Asia/Tokyo" else start.astimezone(UTC).year == 1
    start, end = day_bounds(since=date(2026, 3, 1), until=date(2026, 3, 1), time_zone=time_zone)
    assert (end - start).total_seconds() == 86400 and start.tzinfo is not None
    with schema_context("bobsplumbing"):
        assert call_search(time_zone=time_zone, since=date.min, until=date.max).count() == 1
        assert message_search(time_zone=time_zone, since=date(1, 1, 2), until=date(9999, 12, 30), box="all").count() == 1
        assert timezone.is_aware(day_bounds(since=date(1, 1, 2), until=None, time_zone=time_zone)[0])
