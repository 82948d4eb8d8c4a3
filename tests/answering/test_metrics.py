"""The wallboard's figures against hand-computed examples."""

from __future__ import annotations

from datetime import datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from django_tenants.utils import schema_context

from answering.metrics import day_figures
from answering.models import CallRecord

pytestmark = pytest.mark.django_db
NY = ZoneInfo("America/New_York")
DAY = datetime(2026, 3, 10, 9, 0, tzinfo=NY)


def _call(n, outcome, wait=None, talk=None, wrap=None, queued=True, at=DAY):
    CallRecord.objects.create(call_sid=f"CAm{n}", caller="+12125550100", number_dialed="+12125550111",
                              arrived_at=at, queued_at=at if queued else None, outcome=outcome,
                              wait_seconds=wait, talk_seconds=talk, wrap_up_seconds=wrap)


def test_the_figures_match_a_hand_computed_day(world):
    with schema_context("bobsplumbing"):
        _call(1, "answered", wait=10, talk=100, wrap=20)   # within 20 s
        _call(2, "answered", wait=20, talk=200, wrap=40)   # within (20 s counts)
        _call(3, "answered", wait=50, talk=60, wrap=0)     # late
        _call(4, "abandoned", wait=30)
        _call(5, "voicemail", wait=180)                    # the queue gave up: offered, not answered
        _call(6, "voicemail", queued=False)                # voicemail from the menu: never queued
        _call(7, "information", queued=False)
        _call(8, "answered", wait=5, talk=10, at=DAY - timedelta(days=1))  # yesterday
    figures = day_figures(world.bobs, DAY.date())
    # offered = 3 answered + 1 abandoned + 1 voicemail from the queue = 5
    assert (figures.offered, figures.answered, figures.abandoned) == (5, 3, 1)
    assert figures.service_level == pytest.approx(2 / 5)
    assert figures.average_speed_of_answer == pytest.approx((10 + 20 + 50) / 3)
    assert figures.abandonment_rate == pytest.approx(1 / 5)
    assert figures.average_handle_time == pytest.approx((120 + 240 + 60) / 3)


def test_the_day_is_the_clients_local_day(world):
    with schema_context("bobsplumbing"):
        # 23:30 in New York on the 10th is already the 11th in UTC.
        _call(1, "answered", wait=5, talk=10, wrap=0, at=datetime(2026, 3, 10, 23, 30, tzinfo=NY))
    assert day_figures(world.bobs, DAY.date()).answered == 1
    assert day_figures(world.bobs, DAY.date() + timedelta(days=1)).answered == 0


def test_the_threshold_is_the_clients(world):
    with schema_context("bobsplumbing"):
        from answering.models import AnsweringSettings

        AnsweringSettings.objects.update(service_level_seconds=60)
        _call(1, "answered", wait=50, talk=10, wrap=0)
    assert day_figures(world.bobs, DAY.date()).service_level == 1.0


def test_a_quiet_day_has_no_figures_rather_than_zeroes(world):
    figures = day_figures(world.charlies, DAY.date())
    assert figures.offered == 0
    assert figures.service_level is None and figures.average_speed_of_answer is None
    assert figures.abandonment_rate is None and figures.average_handle_time is None


def test_one_clients_calls_never_count_for_another(world):
    with schema_context("bobsplumbing"):
        _call(1, "abandoned", wait=5)
    assert day_figures(world.charlies, DAY.date()).offered == 0
