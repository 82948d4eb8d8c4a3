"""Recording-announcement decisions, the check_number command, and the demo's compliance data."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django_tenants.utils import schema_context, tenant_context

from campaigns.models import Campaign
from compliance.models import ComplianceSettings, Consent, DncEntry, LedgerEntry
from compliance.platform.models import RegistryLoad
from compliance.services import inbound_sms_handle, recording_decide

pytestmark = pytest.mark.django_db


def _recording(client, number, **kwargs):
    with tenant_context(client):
        return recording_decide(client=client, number=number, **kwargs)


def test_recording_is_announced_by_default(world):
    assert _recording(world.bobs, "+12125550142").announce


def test_a_client_may_stay_silent_only_when_every_party_is_in_a_one_party_state(world):
    with tenant_context(world.bobs):
        ComplianceSettings.objects.create(recording_policy="one_party_silent")
    assert not _recording(world.bobs, "+12125550142").announce  # NY ↔ NY
    decision = _recording(world.bobs, "+13055550142")  # Florida is all-party
    assert decision.announce and "FL" in decision.reasons[0]
    assert _recording(world.bobs, "+12125550142", contact_address="CA").announce  # she lives in California
    assert _recording(world.bobs, "+18005550142").announce  # toll-free: unknown
    with tenant_context(world.bobs):
        campaign = Campaign.objects.create(name="Careful", purpose="informational", recording_policy="announce")
    assert _recording(world.bobs, "+12125550142", campaign=campaign).announce
    assert _recording(world.charlies, "+12125550142").announce  # Charlie's clinic: its number is in Illinois


def test_check_number_prints_the_decision_with_reasons(world, registry, capsys):
    call_command("check_number", "bobsplumbing", "+18005550142", "--at", "2025-06-03T14:00")
    out = capsys.readouterr().out
    assert "DENY +18005550142 (telemarketing, voice)" in out and "location_unknown" in out and "ledger entry #" in out


def test_the_demo_has_dnc_entries_consents_a_registry_and_stop_works(world):
    call_command("seed_demo")
    call_command("seed_demo")
    assert RegistryLoad.objects.count() == 1
    northside = world.bobs.__class__.objects.get(schema_name="northside")
    with schema_context("northside"):
        # The compliance demo's two consents, one for each contact of the demo campaign, and one
        # for each demo booking (a number given to book is consent to texts about it).
        from calendars.demo import CALENDARS
        from campaigns.demo import CONTACTS

        booked = len(CALENDARS["northside"]["bookings"])
        assert DncEntry.objects.count() == 2 and Consent.objects.count() == 2 + CONTACTS + booked
        reply = inbound_sms_handle(client=northside, from_number="+12125550123", body="STOP")
        assert "Northside" in reply
        assert LedgerEntry.objects.filter(event="opt_out", number="+12125550123").exists()
    call_command("check_number", "northside", "+12125550150", "--purpose", "informational", "--at", "2025-06-03T14:00")
