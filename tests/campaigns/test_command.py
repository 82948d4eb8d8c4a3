"""The demo's campaign and the command line: seeded once, started, paused and listed."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django_tenants.utils import schema_context

from answering.acd.models import DialerCampaign
from campaigns.demo import CONTACTS, campaigns_demo_seed
from campaigns.models import Campaign, Contact
from compliance.models import Consent

pytestmark = pytest.mark.django_db


def test_the_demo_campaign_is_seeded_once_with_consented_contacts(world):
    with schema_context("bobsplumbing"):
        assert campaigns_demo_seed("bobsplumbing") is None  # not a demo client
    # Seed a demo client's campaign into Bob's schema: the seed is keyed by slug only.
    with schema_context("bobsplumbing"):
        from campaigns import demo

        campaign = demo.campaigns_demo_seed("northside")
        assert campaigns_demo_seed("northside") == campaign  # idempotent
        contacts = Contact.objects.filter(campaign=campaign)
        assert contacts.count() == CONTACTS and campaign.dispositions.count() == 6
        assert campaign.script is not None and campaign.state == Campaign.State.DRAFT
        first = contacts.first()
        assert first.time_zone == "America/New_York" and "last_service" in first.fields
        assert Consent.objects.filter(number=first.number, kind=Consent.Kind.EXPRESS).exists()


def test_the_command_starts_pauses_and_lists_a_campaign(world):
    with schema_context("bobsplumbing"):
        from campaigns.services import lifecycle

        campaign = lifecycle.campaign_create(name="Winter check", purpose="informational")
    out = StringIO()
    call_command("campaign", "start", "bobsplumbing", "Winter check", stdout=out)
    assert "Running" in out.getvalue()
    assert DialerCampaign.objects.filter(client=world.bobs, campaign_id=campaign.pk).exists()
    call_command("campaign", "pause", "bobsplumbing", str(campaign.pk), stdout=out)
    assert not DialerCampaign.objects.filter(client=world.bobs, campaign_id=campaign.pk).exists()
    call_command("campaign", "list", "bobsplumbing", stdout=out)
    assert "Winter check" in out.getvalue() and "Paused" in out.getvalue()
    with pytest.raises(CommandError, match="no campaign"):
        call_command("campaign", "start", "bobsplumbing", "Nope")
    with pytest.raises(CommandError, match="No client"):
        call_command("campaign", "list", "nobody")
    # Another client's campaign is not reachable through Bob's name.
    with pytest.raises(CommandError, match="no campaign"):
        call_command("campaign", "start", "charlieclinic", "Winter check")


def test_a_platform_admin_sets_a_campaign_up_in_the_client_data_admin_and_starts_it(world, logged_in):
    from tests.conftest import PLATFORM_HOST

    admin = logged_in(world.alice, PLATFORM_HOST)
    base = "/clients/bobsplumbing/admin/campaigns/campaign/"
    assert admin.get(base).status_code == 200
    form = admin.get(base + "add/").content.decode()
    assert "Machines and abandoned calls" in form and "voicemail_drop" in form
    with schema_context("bobsplumbing"):
        from campaigns.services import lifecycle

        campaign = lifecycle.campaign_create(name="Spring renewals", purpose="informational")
    reply = admin.post(base, {"action": "start", "_selected_action": [campaign.pk]}, follow=True)
    assert "Spring renewals: running." in reply.content.decode()
    assert DialerCampaign.objects.filter(client=world.bobs, campaign_id=campaign.pk).exists()
    # Attempts are records: read, never added or changed here.
    assert admin.get("/clients/bobsplumbing/admin/campaigns/callattempt/add/").status_code == 403
    # Bob's own client admin reaches the same admin on his host; Charlie's host shows none of it.
    bob = logged_in(world.bob, "bobsplumbing.localhost")
    assert "Spring renewals" in bob.get("/admin/campaigns/campaign/").content.decode()
    charlie = logged_in(world.charlie, "charlieclinic.localhost")
    assert "Spring renewals" not in charlie.get("/admin/campaigns/campaign/").content.decode()
