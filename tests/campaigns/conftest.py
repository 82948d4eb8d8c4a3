"""Shared by the campaign tests: fixtures, and the helpers several test modules use (test
modules import from here, never from each other)."""

from __future__ import annotations

import datetime as dt
import json
import uuid
from dataclasses import dataclass

import pytest
from django.db.models import ProtectedError
from django.utils import timezone
from django_tenants.utils import schema_context, tenant_context

from answering.acd.models import AgentPresence, CallSession, DialerCampaign
from answering.models import CallRecord, Script
from answering.scripts.services import script_import_json
from answering.twilio.gateway import SIM_DIALED, SIM_OUTBOX
from campaigns.models import CallAttempt, Campaign, Contact, ContactList
from campaigns.services.lifecycle import campaign_create, campaign_start
from compliance.models import DncEntry
from compliance.rules import Channel, Purpose
from switchboard.redis_clients import redis_client

# Numbers the dialer tests call (555-02xx, New York).
NUMBERS = [f"+1212555{n:04d}" for n in range(200, 230)]


def _clear_simulator():
    r = redis_client(timeout=5)
    for key in (SIM_DIALED, SIM_OUTBOX.format(kind="dial"), SIM_OUTBOX.format(kind="sms")):
        r.delete(key)
    for key in r.scan_iter(match="dialer:cps:*"):
        r.delete(key)


def dialed() -> list[dict]:
    """What reached the gateway: every campaign call placed."""
    return [json.loads(raw) for raw in redis_client(timeout=5).lrange(SIM_OUTBOX.format(kind="dial"), 0, -1)]


RENEWAL_SCRIPT = {
    "key": "renewal", "name": "Renewal call", "used_for": [],
    "steps": [
        {"key": "hello", "say": {"en": "Hello {first_name}, this is {agent_first_name} from {client_name} about "
                                       "policy {fields.policy}{fields.missing}."},
         "fields": [{"name": "renews", "label": "Renews?", "type": "yes_no", "required": True}],
         "end": {"action": "log"}},
    ],
}


@dataclass
class Outbound:
    campaign: Campaign
    contact: Contact
    attempt: CallAttempt
    session: CallSession | None


def _campaign(name: str, *, mode: str = "progressive", script: bool = True, start: bool = False, world=None,
              **fields) -> Campaign:
    """A committed campaign of Bob's Plumbing (call inside django_db_blocker.unblock())."""
    with schema_context("bobsplumbing"):
        version = script_import_json(data=RENEWAL_SCRIPT) if script else None
        # A name of its own: a campaign the gate was asked about stays (the ledger keeps it).
        # Open all day: the suite runs at any hour, and preview honours the calling window.
        fields = {"window_start": dt.time(0), "window_end": dt.time(23, 59, 59), "days": list(range(7)), **fields}
        campaign = campaign_create(name=f"{name} {uuid.uuid4().hex[:6]}", purpose=Purpose.INFORMATIONAL, mode=mode,
                                   script=version, **fields)
    if start:
        with tenant_context(world.bobs):  # the public DialerCampaign row names the client
            campaign_start(campaign=campaign, by="test")
    return campaign


def _contact(campaign: Campaign, number: str, **fields) -> Contact:
    with schema_context("bobsplumbing"):
        contacts, _ = ContactList.objects.get_or_create(campaign=campaign, name="November")
        return Contact.objects.create(campaign=campaign, list=contacts, number=number, **fields)


def _connected(world, agent, campaign: Campaign, contact: Contact) -> Outbound:
    """What the lead's outcome code does when a person answers: the attempt live, a public
    CallSession per the contract, the agent on the call, the "connected" push."""
    with schema_context("bobsplumbing"):
        attempt = CallAttempt.objects.create(
            campaign=campaign, contact=contact, number=contact.number, channel=Channel.AUTODIALED,
            purpose=campaign.purpose, mode=campaign.mode, agent_id=agent.pk, started_at=timezone.now(),
            answered_at=timezone.now(), outcome=CallAttempt.Outcome.LIVE_ANSWERED)
        Contact.objects.filter(pk=contact.pk).update(status=Contact.Status.IN_FLIGHT, attempts=1)
    session = CallSession.objects.create(
        call_sid="CA" + uuid.uuid4().hex, client=world.bobs, direction=CallSession.Direction.OUTBOUND,
        from_number="+12125550111", to_number=str(contact.number), state=CallSession.State.CONNECTED,
        agent=agent, answered_at=timezone.now(), attempt_id=attempt.pk)
    AgentPresence.objects.update_or_create(agent=agent, defaults={"status": "on_call", "mode": "outbound"})
    return Outbound(campaign, contact, attempt, session)


def _cleanup(world) -> None:
    with schema_context("bobsplumbing"):
        campaigns = list(Campaign.objects.filter(name__startswith="T·").exclude(name__endswith="(done)"))
        sids = list(CallSession.objects.filter(client=world.bobs, direction="outbound").values_list("call_sid", flat=True))
        CallRecord.objects.filter(call_sid__in=sids).delete()
        CallAttempt.objects.filter(campaign__in=campaigns).delete()
        Contact.objects.filter(campaign__in=campaigns).delete()
        for campaign in campaigns:
            try:
                campaign.delete()
            except ProtectedError:  # the compliance ledger names it: it stays, stopped
                Campaign.objects.filter(pk=campaign.pk).update(state=Campaign.State.STOPPED, active=False,
                                                               name=f"{campaign.name} (done)")
        Script.objects.filter(key="renewal").delete()
        DncEntry.objects.filter(number__startswith="+1312555").delete()
    CallSession.objects.filter(client=world.bobs, direction="outbound").delete()
    DialerCampaign.objects.filter(client=world.bobs, name__startswith="T·").delete()
    AgentPresence.objects.filter(agent__in=[world.ana, world.ben]).delete()




@pytest.fixture
def afternoon():
    """The clock on a Tuesday afternoon in New York (flowing from there), inside every calling
    window, so the gate's real-time decisions (a voicemail drop's, a preview dial's) hold
    whenever the suite runs."""
    import datetime as dt
    import zoneinfo

    import time_machine

    when = dt.datetime(2026, 6, 2, 14, 0, tzinfo=zoneinfo.ZoneInfo("America/New_York"))
    with time_machine.travel(when, tick=True):
        yield when
