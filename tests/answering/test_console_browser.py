"""The console in a real browser: log in, go available by keyboard, an offer pops, accept with A."""

from __future__ import annotations

import uuid
from pathlib import Path

import pytest
from django.utils import timezone
from django_tenants.utils import schema_context

from answering.acd.models import AgentPresence, CallSession
from answering.models import CallRecord
from tests.conftest import PASSWORD
from tests.processes import ROOT

pytestmark = pytest.mark.processes
ARTIFACTS = ROOT / "test-artifacts"


def test_an_agent_takes_a_call_with_the_keyboard(world, asgi_server, celery_worker, browser, django_db_blocker):
    from answering import consoles

    consoles.forget(world.ben.pk)
    base = f"http://localhost:{asgi_server}"
    page = browser.new_page()
    call = None
    try:
        page.goto(f"{base}/accounts/login/?next=/console/")
        page.locator("#id_username").fill("ben@switchboard.test")
        page.locator("#id_password").fill(PASSWORD)
        page.keyboard.press("Enter")
        page.wait_for_url(f"{base}/console/")
        page.locator("#status").filter(has_text="offline").wait_for()

        page.keyboard.press("1")
        page.locator("#status").filter(has_text="available").wait_for()

        with django_db_blocker.unblock():
            call = CallSession.objects.create(
                call_sid="CA" + uuid.uuid4().hex, client=world.bobs, to_number="+12125550111",
                from_number="+12125550077", state=CallSession.State.QUEUED, queued_at=timezone.now())
            from answering.acd import services as acd

            acd.acd_dispatch()  # what the queued call's webhook would trigger
        page.locator("#offer").wait_for(state="visible", timeout=10000)
        assert page.locator("#offer-client").inner_text() == "Bob's Plumbing"
        assert page.locator("#offer-caller").inner_text() == "+12125550077"

        page.keyboard.press("a")
        page.locator("#call").wait_for(state="visible", timeout=10000)
        assert page.locator("#call-greeting").inner_text() == "Thank you for calling Bob's Plumbing, this is Ben."
        assert page.locator("#status").inner_text() == "on call"
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "console-screen-pop.png"), full_page=True)
        assert Path(ARTIFACTS / "console-screen-pop.png").stat().st_size > 10_000
    finally:
        page.close()
        with django_db_blocker.unblock():
            if call is not None:
                with schema_context("bobsplumbing"):
                    CallRecord.objects.filter(call_sid=call.call_sid).delete()
                CallSession.objects.filter(pk=call.pk).delete()
            AgentPresence.objects.filter(agent=world.ben).delete()
