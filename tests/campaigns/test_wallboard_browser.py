"""The wallboard's campaign panel in Chromium: a running campaign shows with its mode, lines per
agent and figures; when the dialer's tick drops it from predictive to progressive over the
abandonment cap and calls ``campaigns_push``, the wall shows it live, in amber and red, with why."""

from __future__ import annotations

import threading
import uuid

import pytest
from django.db import connection
from django.utils import timezone
from django_tenants.utils import schema_context

from answering import wallboard
from answering.acd.models import DialerCampaign
from campaigns.models import Campaign
from campaigns.services import lifecycle
from compliance.rules import Purpose
from tests.conftest import PASSWORD
from tests.processes import ARTIFACTS

pytestmark = pytest.mark.processes
WALL = {"width": 1920, "height": 1080}
STATS = {"contacts_left": 812, "attempts_today": 240, "answered_today": 61, "answer_rate": 0.254,
         "abandoned_today": 0, "live_today": 40, "abandon_rate_today": 0.0, "abandoned_30d": 5, "live_30d": 500,
         "abandon_rate_30d": 0.01, "agents": 6, "lines_in_flight": 9}


def _committed(fn, django_db_blocker):
    """Run ``fn`` committed, on its own connection and thread (Playwright holds this one's loop)."""
    result, errors = {}, []

    def run():
        try:
            with django_db_blocker.unblock():
                result["value"] = fn()
        except Exception as exc:  # noqa: BLE001 - surfaced below
            errors.append(exc)
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(20)
    assert not errors, errors
    return result.get("value")


@pytest.fixture
def running(world, django_db_blocker):
    name = f"Wall {uuid.uuid4().hex[:6]}"

    def start():
        with schema_context("bobsplumbing"):
            campaign = lifecycle.campaign_create(name=name, purpose=Purpose.TELEMARKETING, mode="predictive")
            return lifecycle.campaign_start(campaign=campaign, by="Bob")

    campaign = _committed(start, django_db_blocker)
    yield campaign

    def remove():
        DialerCampaign.objects.filter(client__schema_name="bobsplumbing", campaign_id=campaign.pk).delete()
        with schema_context("bobsplumbing"):
            Campaign.objects.filter(pk=campaign.pk).delete()

    _committed(remove, django_db_blocker)


def _tick(campaign, django_db_blocker, **fields):
    """The dialer's tick: its row updated and committed, then the push it makes."""
    def tick():
        DialerCampaign.objects.filter(client__schema_name="bobsplumbing", campaign_id=campaign.pk).update(
            ticked_at=timezone.now(), **fields)
        wallboard.campaigns_push()

    _committed(tick, django_db_blocker)


def test_a_campaign_dropped_to_progressive_shows_live_with_why(running, asgi_server, browser, django_db_blocker):
    _tick(running, django_db_blocker, mode="predictive", lines_per_agent=2.4, reason="", stats=STATS)
    context = browser.new_context(viewport=WALL)
    try:
        page = context.new_page()
        base = f"http://localhost:{asgi_server}"
        page.goto(f"{base}/accounts/login/?next=/wallboard/")
        page.locator("#id_username").fill("sam@switchboard.test")
        page.locator("#id_password").fill(PASSWORD)
        page.keyboard.press("Enter")
        page.wait_for_url(f"{base}/wallboard/")
        row = page.locator(f'#campaigns tr[data-campaign="bobsplumbing:{running.pk}"]')
        row.wait_for(timeout=10000)
        assert page.locator("#campaigns-card").is_visible()
        text = row.inner_text()
        assert running.name in text and "Bob's Plumbing" in text and "Predictive" in text and "2.4" in text
        assert "812" in text and "25%" in text and "1.0%" in text
        assert row.get_attribute("data-risk") == "ok" and row.get_attribute("data-dropped") is None
        page.evaluate("window.__notReloaded = true")

        why = "Abandonment 3.4% over 30 days, above 3%: dialing progressive"
        _tick(running, django_db_blocker, mode="progressive", lines_per_agent=1.0, reason=why,
              stats={**STATS, "abandoned_30d": 17, "abandon_rate_30d": 0.034})
        page.locator(f'#campaigns tr[data-campaign="bobsplumbing:{running.pk}"][data-dropped="true"]').wait_for(
            timeout=10000)
        text = row.inner_text()
        assert "Progressive" in text and "set to predictive" in text and why in text and "3.4%" in text
        assert row.get_attribute("data-risk") == "over"
        assert row.locator("td.month").get_attribute("data-risk") == "over"  # red: over 30 days
        assert row.locator("td.today").get_attribute("data-risk") == "ok"  # plain: none abandoned today
        assert page.evaluate("window.__notReloaded") is True  # pushed, not reloaded
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "wallboard-campaigns.png"))
        sizes = page.evaluate("[document.scrollingElement.scrollHeight, innerHeight]")
        assert sizes[0] <= sizes[1], sizes  # the panel fits beside the agents: the wall does not scroll

        # Paused: its row goes (the lifecycle deletes it); the wall hears on the next push.
        def pause():
            with schema_context("bobsplumbing"):
                lifecycle.campaign_pause(campaign=Campaign.objects.get(pk=running.pk), by="Bob")
            wallboard.campaigns_push()

        _committed(pause, django_db_blocker)
        row.wait_for(state="detached", timeout=10000)
    finally:
        context.close()
