"""Each figure against a hand-computed day: Bob's Plumbing (New York) on the fall-back day
2026-11-01 (tests/reports/conftest.py writes it), with a call across local midnight, short
abandons and voicemails; the hours of both DST changes; and the wallboard reading the same
definitions."""

from __future__ import annotations

import datetime as dt
from decimal import Decimal

import pytest
from django_tenants.utils import schema_context

from answering.metrics import day_figures
from answering.models import AnsweringSettings
from reports.figures import Period, PeriodRefused, period_check, report_build, week_glance
from tests.reports.conftest import DAY, NY, at, call, seed_day

pytestmark = pytest.mark.django_db
TZ = "America/New_York"


@pytest.fixture
def bobs_day(world):
    with schema_context("bobsplumbing"):
        yield seed_day(world)


def _day(by="day"):
    return report_build(Period(DAY, DAY, TZ), by)


def test_every_inbound_figure_of_the_day(bobs_day):
    with schema_context("bobsplumbing"):
        report = _day()
    assert [r.key for r in report.rows] == [DAY]
    f = report.rows[0].figures
    assert f == pytest.approx(report.total.figures)  # one day: the row is the total
    # Calls 1–10, 13–15 arrived on the 1st (11 the evening before, 12 the morning after).
    assert f["calls"] == 13
    # Answered: 1, 2, 3, 9, 10 (ends after midnight, counted on the day it rang) and 14.
    assert f["answered"] == 6
    # Abandoned: 4 (3 s: short, under 5 s), 5 (40 s), 13 (5 s is not under 5 s).
    assert (f["abandoned"], f["short_abandoned"]) == (2, 1)
    # Offered: 6 answered + 2 abandoned + 1 voicemail from the queue (7 chose voicemail in the menu).
    assert f["offered"] == 9
    # Within 20 s: 1 (10), 3 (5), 9 (20 counts), 10 (15); not 2 (25) nor 14 (60).
    assert f["service_level"] == pytest.approx(4 / 6)
    assert f["service_level_offered"] == pytest.approx(4 / 9)
    assert f["answer_rate"] == pytest.approx(6 / 9)
    assert f["average_speed_of_answer"] == pytest.approx((10 + 25 + 5 + 20 + 15 + 60) / 6)
    assert f["abandonment_rate"] == pytest.approx(2 / 9)
    assert f["average_talk"] == pytest.approx((100 + 200 + 60 + 300 + 400 + 120) / 6)
    assert f["average_wrap_up"] == pytest.approx((20 + 40 + 0 + 30 + 10 + 30) / 6)
    assert f["average_handle_time"] == pytest.approx((1180 + 130) / 6)


def test_occupancy_per_agent_over_their_working_span(bobs_day, world):
    with schema_context("bobsplumbing"):
        report = _day("agent")
    rows = {r.key: r for r in report.rows}
    ana, ben = rows[world.ana.pk], rows[world.ben.pk]
    assert ana.label == "Ana Agent" and ben.label == "Ben Agent"
    # Ana: first answer 00:10:10 EDT (04:10:10Z); last wrap-up ends after call 10: 23:58 EST +15 s
    # wait +400 s talk +10 s wrap = 05:05:05Z on the 2nd. Span 86 400 + 3 295 = 89 695 s.
    # Handled: 120 + 240 + 410 + 150 = 920 s.
    assert ana.counts["span_total"] == pytest.approx(89695) and ana.counts["handled_total"] == pytest.approx(920)
    # Ben: 06:30:05Z (call 3 answered) to 17:05:50Z (call 9's wrap-up end): 38 145 s; handled 60 + 330.
    assert ben.counts["span_total"] == pytest.approx(38145) and ben.counts["handled_total"] == pytest.approx(390)
    assert ana.figures["average_handle_time"] == pytest.approx(920 / 4)  # this client's calls only
    assert ana.figures["answered"] == 4 and ben.figures["answered"] == 2
    # Occupancy spans every client an agent serves (the presence log): not a client's figure.
    assert ana.figures["occupancy"] is None and report.total.figures["occupancy"] is None
    # The same total by day: spans add up over agent-days.
    with schema_context("bobsplumbing"):
        assert _day().total.counts["span_total"] == pytest.approx(89695 + 38145)


def test_messages_outbound_and_appointments_of_the_day(bobs_day):
    with schema_context("bobsplumbing"):
        f = _day().total.figures
    # Messages: three taken on the 1st (one the day before); acknowledged after 10 and 30 minutes.
    assert (f["messages"], f["dispatches"]) == (3, 1)
    assert f["time_to_acknowledge"] == pytest.approx((600 + 1800) / 2)
    # Outbound: 6 dials; a person on 4 (3 connected, 1 abandoned); 2 sales of 120 + 80.
    assert (f["dials"], f["conversions"]) == (6, 2)
    assert f["contact_rate"] == pytest.approx(4 / 6)
    assert f["conversion_rate"] == pytest.approx(2 / 3)
    assert f["amount_per_call"] == Decimal("66.67")
    assert f["outbound_abandonment"] == pytest.approx(1 / 4)
    # Ana had 3 dials, from 10:00 to 11:05 (her last attempt's end): 65 minutes.
    assert f["calls_per_agent_hour"] == pytest.approx(3 / (65 / 60))
    # Appointments: booked twice on the 1st (the third the week before), one cancelled, one
    # confirmed at 15:00, one no-show (its start on the 1st).
    assert (f["booked"], f["cancelled"], f["confirmed"], f["no_shows"]) == (2, 1, 1, 1)


def test_by_campaign_outbound_per_campaign_and_inbound_on_its_own_row(bobs_day):
    with schema_context("bobsplumbing"):
        report = _day("campaign")
    rows = {r.key: r for r in report.rows}
    campaign = rows[bobs_day["campaign"].pk]
    assert campaign.label == bobs_day["campaign"].name and campaign.figures["dials"] == 6
    assert campaign.figures["calls_per_agent_hour"] == pytest.approx(3 / (65 / 60))
    assert rows[None].label == "Inbound calls" and rows[None].figures["answered"] == 6
    assert report.total.figures["calls_per_agent_hour"] == pytest.approx(3 / (65 / 60))


def test_by_hour_on_the_fall_back_day_the_repeated_hour_is_two_rows(bobs_day):
    with schema_context("bobsplumbing"):
        report = _day("hour")
    assert len(report.rows) == 25  # a 25-hour day
    labels = [r.label for r in report.rows]
    assert labels[:4] == ["2026-11-01 00:00 EDT", "2026-11-01 01:00 EDT", "2026-11-01 01:00 EST",
                          "2026-11-01 02:00 EST"]
    calls = {r.label: r.figures["calls"] for r in report.rows}
    assert calls["2026-11-01 01:00 EDT"] == 1  # call 2
    assert calls["2026-11-01 01:00 EST"] == 2  # calls 3 and 4
    assert calls["2026-11-01 23:00 EST"] == 1  # call 10
    assert sum(calls.values()) == 13
    assert all(r.figures["occupancy"] is None for r in report.rows)  # not defined by hour
    assert report.total.figures["answered"] == 6
    assert report.total.figures["occupancy"] is None  # the cross-client report's figure


def test_the_spring_forward_day_has_23_hours_and_its_calls_the_right_ones(world):
    spring = dt.date(2026, 3, 8)
    with schema_context("bobsplumbing"):
        call("sp", 1, at(1, 30, day=spring), "answered", wait=5, talk=10, wrap=0, agent=world.ana)  # EST
        call("sp", 2, at(3, 30, day=spring), "answered", wait=5, talk=10, wrap=0, agent=world.ana)  # EDT
        call("sp", 3, at(0, 30, day=spring), "abandoned", wait=30)
        call("sp", 4, at(23, 30, day=spring), "abandoned", wait=30)
        call("sp", 5, at(23, 30, day=spring - dt.timedelta(days=1)), "abandoned", wait=30)
        hours = report_build(Period(spring, spring, TZ), "hour")
        days = report_build(Period(spring - dt.timedelta(days=1), spring + dt.timedelta(days=1), TZ), "day")
    assert len(hours.rows) == 23
    calls = {r.label: r.figures["calls"] for r in hours.rows}
    assert "2026-03-08 02:00 EST" not in calls and "2026-03-08 02:00 EDT" not in calls
    assert calls["2026-03-08 01:00 EST"] == 1 and calls["2026-03-08 03:00 EDT"] == 1
    assert calls["2026-03-08 00:00 EST"] == 1 and calls["2026-03-08 23:00 EDT"] == 1
    assert [(r.key, r.figures["calls"]) for r in days.rows] == [
        (spring - dt.timedelta(days=1), 1), (spring, 4), (spring + dt.timedelta(days=1), 0)]


def test_the_short_abandon_threshold_is_the_clients(bobs_day):
    with schema_context("bobsplumbing"):
        AnsweringSettings.objects.update(short_abandon_seconds=0)
        every = _day().total.figures
        AnsweringSettings.objects.update(short_abandon_seconds=41)
        more = _day().total.figures
    assert (every["abandoned"], every["short_abandoned"], every["offered"]) == (3, 0, 10)
    # Under 41 s: calls 4 (3 s), 13 (5 s) and 5 (40 s) are all short.
    assert (more["abandoned"], more["short_abandoned"], more["offered"]) == (0, 3, 7)


def test_the_wallboard_uses_the_same_definitions(bobs_day, world):
    figures = day_figures(world.bobs, DAY)
    with schema_context("bobsplumbing"):
        f = _day().total.figures
    assert (figures.offered, figures.answered, figures.abandoned) == (f["offered"], f["answered"], f["abandoned"])
    assert figures.service_level == pytest.approx(f["service_level_offered"])
    assert figures.average_speed_of_answer == pytest.approx(f["average_speed_of_answer"])
    assert figures.abandonment_rate == pytest.approx(f["abandonment_rate"])
    assert figures.average_handle_time == pytest.approx(f["average_handle_time"])


def test_the_week_at_a_glance(bobs_day):
    with schema_context("bobsplumbing"):
        week = week_glance(TZ, today=DAY + dt.timedelta(days=2))  # Oct 28 – Nov 3
    # 15 calls (11 on Oct 31 and 12 on Nov 2 are inside the week), all 4 messages, 2 booked.
    assert (week.calls, week.messages, week.booked) == (15, 4, 2)
    # Answered 7 (with 11); abandoned 3 (5, 12, 13) of offered 7 + 3 + 1.
    assert week.answered == 7 and week.answer_rate == pytest.approx(7 / 11)
    assert week.service_level == pytest.approx(5 / 7)  # 11 waited 5 s


def test_a_quiet_period_has_no_figures_rather_than_zeroes(world):
    with schema_context("charlieclinic"):
        f = report_build(Period(DAY, DAY, "America/Chicago"), "day").total.figures
    assert f["calls"] == 0 and f["offered"] == 0
    for name in ("service_level", "average_speed_of_answer", "abandonment_rate", "occupancy",
                 "time_to_acknowledge", "contact_rate", "amount_per_call", "calls_per_agent_hour"):
        assert f[name] is None, name


@pytest.mark.parametrize(("start", "end", "by", "field", "words"), [
    (None, DAY, "day", "from", "first day"),
    (DAY, DAY - dt.timedelta(days=1), "day", "to", "before the first"),
    (DAY, DAY + dt.timedelta(days=400), "day", "to", "at most 366 days"),
    (DAY, DAY + dt.timedelta(days=40), "hour", "by", "at most 31 days"),
    (DAY, DAY, "week", "by", "day, hour, agent, campaign"),
])
def test_a_period_that_cannot_be_reported_says_which_field_and_why(start, end, by, field, words):
    with pytest.raises(PeriodRefused) as refused:
        period_check(start, end, TZ, by)
    assert refused.value.field == field and words in str(refused.value)


def test_the_period_is_whole_local_days(world):
    period = Period(DAY, DAY, TZ)
    assert period.starts_at == dt.datetime(2026, 11, 1, tzinfo=NY)
    assert period.ends_at.astimezone(dt.UTC) - period.starts_at.astimezone(dt.UTC) == dt.timedelta(hours=25)
