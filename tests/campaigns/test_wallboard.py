"""The wallboard's campaign panel: every running campaign across clients, as the dialer's last
tick left it, beside the mode it is configured with — and the push the tick makes."""

from __future__ import annotations

import pytest
from django.utils import timezone
from django_tenants.utils import schema_context

from answering import live, wallboard
from answering.acd.models import DialerCampaign
from answering.metrics import wallboard_snapshot
from campaigns.models import Campaign
from campaigns.services import lifecycle
from compliance.rules import Purpose

pytestmark = pytest.mark.django_db


def _running(schema: str, name: str, mode: str) -> Campaign:
    with schema_context(schema):
        campaign = lifecycle.campaign_create(name=name, purpose=Purpose.TELEMARKETING, mode=mode)
        return lifecycle.campaign_start(campaign=campaign, by="Bob")


def _tick(campaign: Campaign, schema: str, **fields) -> None:
    """What the dialer's tick writes to the campaign's public row."""
    DialerCampaign.objects.filter(client__schema_name=schema, campaign_id=campaign.pk).update(
        ticked_at=timezone.now(), **fields)


STATS = {"contacts_left": 812, "attempts_today": 240, "answered_today": 61, "answer_rate": 0.254,
         "abandoned_today": 1, "live_today": 40, "abandon_rate_today": 0.025, "abandoned_30d": 17, "live_30d": 500,
         "abandon_rate_30d": 0.034, "agents": 6, "lines_in_flight": 9}


def test_the_panel_shows_each_running_campaign_and_why_it_dials_as_it_does(world, django_assert_max_num_queries):
    spring = _running("bobsplumbing", "Spring tune-up", Campaign.Mode.PREDICTIVE)
    recalls = _running("charlieclinic", "Recalls", Campaign.Mode.PROGRESSIVE)
    why = "Abandonment 3.4% over 30 days, above 3%: dialing progressive"
    _tick(spring, "bobsplumbing", mode="progressive", lines_per_agent=1.0, reason=why, stats=STATS)
    _tick(recalls, "charlieclinic", mode="progressive", lines_per_agent=1.0, reason="",
          stats={**STATS, "abandon_rate_today": 0.0, "abandon_rate_30d": 0.01, "agents": 2})

    with django_assert_max_num_queries(2):  # the rows, and every client's configured modes in one statement
        board = {row["name"]: row for row in wallboard.campaign_board()}

    bob = board["Spring tune-up"]
    assert (bob["client"], bob["client_name"], bob["campaign"]) == ("bobsplumbing", "Bob's Plumbing", spring.pk)
    assert (bob["mode"], bob["configured_mode"], bob["dropped"]) == ("progressive", "predictive", True)
    assert bob["reason"] == why and bob["lines_per_agent"] == 1.0
    assert (bob["risk"], bob["risk_today"], bob["risk_30d"]) == ("over", "near", "over")
    assert (bob["contacts_left"], bob["attempts_today"], bob["answer_rate"], bob["agents"]) == (812, 240, 0.254, 6)
    assert (bob["abandon_rate_today"], bob["abandon_rate_30d"]) == (0.025, 0.034)
    charlie = board["Recalls"]
    assert (charlie["dropped"], charlie["risk"], charlie["agents"]) == (False, "ok", 2)
    assert [row["name"] for row in wallboard_snapshot()["campaigns"]][-2:] == ["Spring tune-up", "Recalls"]


def test_abandonment_near_the_cap_today_or_over_30_days_is_amber(world):
    spring = _running("bobsplumbing", "Near", Campaign.Mode.PREDICTIVE)
    _tick(spring, "bobsplumbing", mode="predictive", lines_per_agent=2.3,
          stats={**STATS, "abandon_rate_today": 0.027, "abandon_rate_30d": 0.012})
    [row] = [r for r in wallboard.campaign_board() if r["name"] == "Near"]
    assert (row["risk"], row["risk_today"], row["risk_30d"], row["dropped"]) == ("near", "near", "ok", False)


def test_a_campaign_not_ticked_yet_shows_nothing_measured(world):
    _running("bobsplumbing", "Fresh", Campaign.Mode.PROGRESSIVE)
    [row] = [r for r in wallboard.campaign_board() if r["name"] == "Fresh"]
    assert row["ticked_at"] is None and row["risk"] == "ok" and row["dropped"] is False
    assert all(row[key] is None for key in wallboard.CAMPAIGN_STATS)


def test_a_paused_campaign_leaves_the_wall(world):
    spring = _running("bobsplumbing", "Paused soon", Campaign.Mode.PROGRESSIVE)
    assert any(r["campaign"] == spring.pk for r in wallboard.campaign_board())
    with schema_context("bobsplumbing"):
        lifecycle.campaign_pause(campaign=spring, by="Bob")
    assert not any(r["name"] == "Paused soon" for r in wallboard.campaign_board())


def test_the_tick_pushes_a_redraw_to_the_supervisors(world, monkeypatch):
    pushed = []
    monkeypatch.setattr(live, "push", lambda group, payload: pushed.append((group, payload)))
    wallboard.campaigns_push()
    assert pushed == [(live.SUPERVISORS_GROUP, {"type": "campaigns"})]
