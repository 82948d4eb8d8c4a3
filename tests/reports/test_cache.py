"""The cache of closed days (reports.cache) is exact: a report read from it equals the report
counted from the records, and any change to a past day's records — whatever the code path —
shows in the next report; one client's cache is never another's."""

from __future__ import annotations

import datetime as dt

import pytest
from django.db import connection
from django_tenants.utils import schema_context

from answering.models import AnsweringSettings, CallRecord, Message
from campaigns.models import CallAttempt
from reports import cache, figures
from reports.figures import Period, report_build
from reports.models import DayCounts
from tests.reports.conftest import DAY, at, call, seed_day

pytestmark = pytest.mark.django_db
TZ = "America/New_York"
WEEK = Period(DAY - dt.timedelta(days=3), DAY + dt.timedelta(days=3), TZ)


@pytest.fixture
def bobs_day(world):
    with schema_context("bobsplumbing"):
        yield seed_day(world)


def _uncached(monkeypatch, period: Period, by: str):
    """The same report counted from the records alone."""
    with monkeypatch.context() as m:
        m.setattr(cache, "day_groups", lambda period, source, grain, compute, params="": compute(period))
        return report_build(period, by)


def _same(a: figures.Report, b: figures.Report) -> None:
    assert [(r.key, r.counts) for r in a.rows] == [(r.key, pytest.approx(r.counts)) for r in b.rows]
    assert a.total.counts == pytest.approx(b.total.counts)


def _kept_day(day: dt.date, source: str = "inbound", grain: str = "day") -> DayCounts:
    return DayCounts.objects.get(source=source, grain=grain,
                                 starts_at=dt.datetime.combine(day, dt.time.min, tzinfo=WEEK.tz))


@pytest.mark.parametrize("by", ["day", "hour", "agent", "campaign"])
def test_a_report_from_the_cache_equals_the_records_count(bobs_day, monkeypatch, by):
    with schema_context("bobsplumbing"):
        first = report_build(WEEK, by)  # counts and keeps the closed days
        assert DayCounts.objects.filter(source="inbound", grain="day").count() == 7
        again = report_build(WEEK, by)  # read from what was kept
        truth = _uncached(monkeypatch, WEEK, by)
    _same(first, truth)
    _same(again, truth)
    assert again.total.counts["calls"] == 13 + 2  # the day's 13, and 11 and 12 either side of it


def test_the_kept_day_is_what_the_report_reads(bobs_day):
    with schema_context("bobsplumbing"):
        report_build(WEEK, "day")
        kept = _kept_day(DAY)
        kept.groups = []  # as if the day had had no calls: proves the report reads the kept day
        kept.save(update_fields=["groups"])
        assert report_build(WEEK, "day").total.counts["calls"] == 2  # calls 11 and 12, the days either side


@pytest.mark.parametrize("change", ["save", "update", "raw sql", "delete", "bulk create"])
def test_a_change_to_a_closed_days_call_shows_in_the_next_report(bobs_day, change, world):
    with schema_context("bobsplumbing"):
        before = report_build(WEEK, "day").total.counts
        late = bobs_day["calls"][9]  # 23:58, answered; its wrap-up is re-timed after the day closed
        if change == "save":
            late.wrap_up_seconds = 1010
            late.save()
        elif change == "update":  # QuerySet.update() bypasses save() and auto_now
            CallRecord.objects.filter(pk=late.pk).update(wrap_up_seconds=1010)
        elif change == "raw sql":
            with connection.cursor() as cursor:
                cursor.execute("UPDATE answering_callrecord SET wrap_up_seconds = 1010 WHERE id = %s", [late.pk])
        elif change == "delete":
            late.delete()
        else:
            CallRecord.objects.bulk_create([CallRecord(call_sid="CAlate1", caller="+12125550100",
                                                       number_dialed="+12125550111", arrived_at=at(20),
                                                       outcome="information")])
        after = report_build(WEEK, "day").total.counts
    if change == "delete":
        assert (after["calls"], after["answered"], after["wrap_total"]) == (
            before["calls"] - 1, before["answered"] - 1, before["wrap_total"] - 10)
    elif change == "bulk create":
        assert after["calls"] == before["calls"] + 1
    else:
        assert after["wrap_total"] == before["wrap_total"] + 1000
        assert after["span_total"] == before["span_total"] + 1000  # Ana's day now ends 1000 s later


def test_a_call_moved_to_another_day_leaves_the_first_and_joins_the_second(bobs_day):
    with schema_context("bobsplumbing"):
        report_build(WEEK, "day")
        CallRecord.objects.filter(pk=bobs_day["calls"][0].pk).update(arrived_at=at(10, day=DAY + dt.timedelta(days=2)))
        rows = {r.key: r.counts["calls"] for r in report_build(WEEK, "day").rows}
    assert rows[DAY] == 13 - 1
    assert rows[DAY + dt.timedelta(days=2)] == 1


def test_messages_and_attempts_are_kept_and_refreshed_the_same_way(bobs_day):
    with schema_context("bobsplumbing"):
        before = report_build(WEEK, "agent").total.counts
        Message.objects.filter(pk=bobs_day["messages"][2].pk).update(acknowledged_at=at(14))
        CallAttempt.objects.filter(pk=bobs_day["attempts"][3].pk).update(outcome="live_answered")
        after = report_build(WEEK, "agent").total.counts
    assert after["acknowledged"] == before["acknowledged"] + 1
    assert after["ack_total"] == pytest.approx(before["ack_total"] + 3600)
    assert (after["connected"], after["person"]) == (before["connected"] + 1, before["person"] + 1)


def test_a_disposition_made_a_success_counts_at_once(bobs_day):
    with schema_context("bobsplumbing"):
        before = report_build(WEEK, "campaign").total.counts
        bobs_day["campaign"].dispositions.filter(code="sale").update(success=False)
        after = report_build(WEEK, "campaign").total.counts
    assert (before["conversions"], after["conversions"]) == (2, 0)


def test_new_thresholds_are_counted_anew(bobs_day):
    with schema_context("bobsplumbing"):
        before = report_build(WEEK, "day").total.counts
        AnsweringSettings.objects.update_or_create(defaults={"service_level_seconds": 30})
        after = report_build(WEEK, "day").total.counts
    # Call 2 (25 s) is now within T; 14 (60 s) still is not.
    assert after["answered_within"] == before["answered_within"] + 1


def test_a_write_while_a_day_is_counted_is_never_kept_as_valid(bobs_day, monkeypatch):
    """The sum of changes is read before the count: a write landing in between is in the
    count but not in the kept sum, so the kept day is not valid and the next report counts
    it again (read after, a write the count missed would be in the sum: stale for ever)."""
    real = figures.inbound_groups
    late = bobs_day["calls"][9]

    def with_a_write_in_between(period, unit, **kw):
        CallRecord.objects.filter(pk=late.pk).update(wrap_up_seconds=1010)
        return real(period, unit, **kw)

    day = (dt.datetime.combine(DAY, dt.time.min, tzinfo=WEEK.tz),
           dt.datetime.combine(DAY + dt.timedelta(days=1), dt.time.min, tzinfo=WEEK.tz))
    with schema_context("bobsplumbing"):
        threshold, short, _ = figures._thresholds()
        monkeypatch.setattr(figures, "inbound_groups", with_a_write_in_between)
        first = report_build(WEEK, "day").total.counts
        monkeypatch.setattr(figures, "inbound_groups", real)
        assert _kept_day(DAY).groups  # kept …
        assert cache._kept("inbound", "day", f"{threshold}:{short}", [day]) == {}  # … but not valid
        second = report_build(WEEK, "day").total.counts
        assert cache._kept("inbound", "day", f"{threshold}:{short}", [day]) != {}  # counted again: valid now
    assert first["wrap_total"] == second["wrap_total"]


def test_one_clients_kept_days_are_not_anothers(bobs_day, world):
    with schema_context("bobsplumbing"):
        bobs = report_build(WEEK, "day").total.counts
        assert DayCounts.objects.count() > 0
    with schema_context("charlieclinic"):
        # Charlie's own, on the same local day in Bob's zone: kept in Charlie's schema alone.
        call("ch", 1, at(9), "answered", wait=1, talk=1, wrap=0)
        charlies = report_build(WEEK, "day").total.counts
        assert DayCounts.objects.filter(source="inbound").count() == 7
        charlies_again = report_build(WEEK, "day").total.counts
    with schema_context("bobsplumbing"):
        bobs_again = report_build(WEEK, "day").total.counts
    assert charlies["calls"] == charlies_again["calls"] == 1
    assert bobs_again == bobs and bobs["calls"] == 15


def test_today_is_never_kept(world):
    with schema_context("bobsplumbing"):
        today = dt.datetime.now(WEEK.tz).date()
        report_build(Period(today - dt.timedelta(days=1), today, TZ), "day")
        starts = set(DayCounts.objects.filter(source="inbound").values_list("starts_at", flat=True))
    assert dt.datetime.combine(today, dt.time.min, tzinfo=WEEK.tz) not in starts
    assert dt.datetime.combine(today - dt.timedelta(days=1), dt.time.min, tzinfo=WEEK.tz) in starts
