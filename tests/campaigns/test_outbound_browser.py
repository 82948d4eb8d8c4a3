"""A campaign call end to end in Chromium: the dialer's tick places it through the gate, a
simulated person answers (Twilio's callbacks in order, the detection says "human"), the
server connects Ana, whose console pops the contact and script and whose browser phone
answers her leg; she books "callback tomorrow 10:00" in the contact's time zone; the call
ends and her wrap-up closes; the next morning's tick dials the callback at 10:00 in Chicago,
and not a minute before."""

from __future__ import annotations

import datetime as dt
import json
import threading
import zoneinfo

import pytest
from django.utils import timezone
from django_tenants.utils import schema_context

from answering.acd import services as acd
from answering.acd.models import AgentPresence, CallSession, DialerCampaign
from answering.twilio.gateway import SIM_DIALED, SIM_OUTBOX
from answering.twilio.simulator import answer_dial, http_transport
from campaigns.models import CallAttempt, Contact
from campaigns.services import dialer
from compliance.models import Consent
from switchboard.redis_clients import redis_client
from tests.answering.conftest import _open_console
from tests.campaigns.conftest import _campaign, _cleanup, _contact
from tests.conftest import until
from tests.processes import ARTIFACTS

pytestmark = pytest.mark.processes

CHICAGO = zoneinfo.ZoneInfo("America/Chicago")
DANA = "+13125550146"




def test_an_outbound_agent_takes_a_dialed_call_books_a_callback_and_it_is_dialed_then(
        world, asgi_server, celery_worker, browser, django_db_blocker, settings):
    from answering.acd import consoles

    settings.DIALER_CALLS_PER_SECOND = 10
    consoles.forget(world.ana.pk)
    r = redis_client(timeout=5)
    r.delete(SIM_DIALED, SIM_OUTBOX.format(kind="dial"))
    with django_db_blocker.unblock():
        # Ana's campaign only: agents other tests left available in outbound mode are not on it.
        campaign = _campaign("T·E2E", mode="progressive", start=True, world=world, agent_ids=[world.ana.pk])
        contact = _contact(campaign, DANA, first_name="Dana", last_name="Reyes", fields={"policy": "HX-9"})
        with schema_context("bobsplumbing"):
            Consent.objects.create(number=DANA, kind=Consent.Kind.EXPRESS, source=Consent.Source.WEB_FORM,
                                   obtained_at=timezone.now() - dt.timedelta(days=3), recorded_by="test")
    base = f"http://localhost:{asgi_server}"
    page = browser.new_page()
    callee = {}
    try:
        _open_console(page, base, "ana@switchboard.test")
        page.locator("#mode").select_option("outbound")
        page.keyboard.press("1")
        page.locator("#status").filter(has_text="available").wait_for()
        page.locator("#phone[data-phone=ready]").wait_for(timeout=10000)
        with django_db_blocker.unblock():
            until(lambda: AgentPresence.objects.filter(agent=world.ana, status="available", mode="outbound").exists(),
                  "Ana was never available in outbound mode")
            row = DialerCampaign.objects.get(client=world.bobs, campaign_id=campaign.pk)
            # Today 14:00 in Chicago: inside every window, whatever hour the suite runs at.
            afternoon = timezone.now().astimezone(CHICAGO).replace(hour=14, minute=0, second=0, microsecond=0)
            assert dialer.campaign_tick(row, now=afternoon).placed == 1
        [record] = [json.loads(raw) for raw in r.lrange(SIM_OUTBOX.format(kind="dial"), 0, -1)]
        assert record["to"] == DANA and record["amd_callback"]

        # The person answers; the server, not this test, connects them to Ana.
        def play():
            transport = http_transport(base, "localhost")
            callee["call"] = answer_dial(record=record, transport=transport, behaviour="person", say=lambda _: None,
                                         hold_poll_seconds=0.2, max_conference_seconds=60)

        thread = threading.Thread(target=play, daemon=True)
        thread.start()
        page.locator("#outbound").wait_for(state="visible", timeout=15000)
        assert page.locator("#ob-name").inner_text() == "Dana Reyes"
        assert "HX-9" in page.locator("#ob-fields").inner_text()
        assert page.locator("#script-say").inner_text().startswith("Hello Dana, this is Ana from Bob's Plumbing")
        page.locator("#phone[data-phone=in-call]").wait_for(timeout=15000)  # her leg answered in the browser

        page.locator("#dispo-buttons button", has_text="Call back later").click()
        tomorrow = (timezone.now().astimezone(CHICAGO) + dt.timedelta(days=1)).date()
        page.locator("#dispo-callback-at").fill(f"{tomorrow.isoformat()}T10:00")
        assert page.locator("#dispo-zone").inner_text() == "10:00 in the contact's time, America/Chicago"
        page.locator("input[name=callback_to][value=me]").check()
        page.locator("#dispo-save").click()
        page.locator("#dispo-done").filter(has_text="Call back later").wait_for(timeout=10000)
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "console-outbound-end-to-end.png"), full_page=True)
        thread.join(30)
        assert not thread.is_alive() and callee["call"].outcome == "answered"

        with django_db_blocker.unblock():
            [attempt] = _attempts(campaign)
            assert attempt.outcome == CallAttempt.Outcome.LIVE_ANSWERED and attempt.agent_id == world.ana.pk
            assert attempt.disposition.code == "callback"
            with schema_context("bobsplumbing"):
                booked = Contact.objects.get(pk=contact.pk)
            assert booked.status == Contact.Status.CALLBACK and booked.callback_agent_id == world.ana.pk
            local = booked.next_attempt_at.astimezone(CHICAGO)
            assert (local.date(), local.hour, local.minute) == (tomorrow, 10, 0)
            # The call is over: Ana's wrap-up closes and she is ready for the next one.
            session = until(lambda: CallSession.objects.filter(attempt_id=attempt.pk, state="wrap_up").first(),
                            "the call never reached wrap-up")
            acd.wrap_up_end(session_id=session.pk)
            AgentPresence.objects.filter(agent=world.ana).update(status="available")

            # Tomorrow at 09:59 in Chicago the callback is not due; at 10:00 it is dialed.
            ten = dt.datetime.combine(tomorrow, dt.time(10, 0), CHICAGO)
            row = DialerCampaign.objects.get(client=world.bobs, campaign_id=campaign.pk)
            assert dialer.campaign_tick(row, now=ten - dt.timedelta(minutes=1)).placed == 0
            row = DialerCampaign.objects.get(client=world.bobs, campaign_id=campaign.pk)
            assert dialer.campaign_tick(row, now=ten).placed == 1
            second = _attempts(campaign)[-1]
            assert second.number == DANA and second.agent_id == world.ana.pk  # booked to her: hers
        dials = [json.loads(raw)["to"] for raw in r.lrange(SIM_OUTBOX.format(kind="dial"), 0, -1)]
        assert dials == [DANA, DANA]
    finally:
        page.close()
        with django_db_blocker.unblock():
            CallSession.objects.filter(client=world.bobs, direction="outbound").delete()
            with schema_context("bobsplumbing"):
                Consent.objects.filter(number=DANA).delete()
            _cleanup(world)
        r.delete(SIM_DIALED, SIM_OUTBOX.format(kind="dial"))


def _attempts(campaign):
    with schema_context("bobsplumbing"):
        return list(CallAttempt.objects.filter(campaign=campaign).select_related("disposition").order_by("pk"))
