"""Exactly one attempt per contact, with real concurrent transactions: six ticks (and six
preview dials) of one campaign at the same instant, each on its own connection, race for
one contact. Not wrapped in a test transaction: the fixture commits and cleans up."""

from __future__ import annotations

import datetime as dt
import threading

import pytest
from django.db import connection
from django.utils import timezone
from django_tenants.utils import schema_context

from answering.acd.models import AgentPresence, DialerCampaign
from campaigns.models import CallAttempt, Campaign, Contact, ContactList
from campaigns.services import dialer, lifecycle
from compliance.models import Consent
from tests.campaigns.conftest import NUMBERS, _clear_simulator, dialed


@pytest.fixture
def committed_campaign(world, django_db_blocker, settings, afternoon):
    """A committed running campaign with one contact and two ready agents, for real
    concurrent ticks (each thread its own connection)."""
    from tenants import services as tenant_services
    from tenants.models import User

    settings.DIALER_CALLS_PER_SECOND = 50
    _clear_simulator()
    with django_db_blocker.unblock():
        agents = []
        for n in range(4):
            user = tenant_services.user_create(email=f"dialer{n}-{timezone.now().timestamp()}@switchboard.test",
                                               role="agent")
            tenant_services.agent_skills_set(user=user, clients=[world.bobs], languages=["en"])
            AgentPresence.objects.create(agent=user, status=AgentPresence.Status.AVAILABLE, mode="outbound",
                                         idle_since=timezone.now())
            agents.append(user)
        with schema_context("bobsplumbing"):
            c = lifecycle.campaign_create(name=f"Race {timezone.now().timestamp()}", purpose="informational",
                                          mode=Campaign.Mode.PROGRESSIVE, window_start=dt.time(0),
                                          window_end=dt.time(23, 59), days=[0, 1, 2, 3, 4, 5, 6])
            people = ContactList.objects.create(campaign=c, name="One")
            Contact.objects.create(campaign=c, list=people, number=NUMBERS[20])
            Consent.objects.create(number=NUMBERS[20], kind=Consent.Kind.EXPRESS, source=Consent.Source.WEB_FORM,
                                   obtained_at=timezone.now() - dt.timedelta(days=1))
            lifecycle.campaign_start(campaign=c, by="tests")
        yield c
        with schema_context("bobsplumbing"):
            # The audit ledger is append-only and names the campaign: it stays, stopped, empty.
            CallAttempt.objects.filter(campaign=c).delete()
            Contact.objects.filter(campaign=c).delete()
            Consent.objects.filter(number=NUMBERS[20]).delete()
            lifecycle.campaign_stop(campaign=c, by="tests")
        DialerCampaign.objects.filter(campaign_id=c.pk).delete()
        User.objects.filter(pk__in=[a.pk for a in agents]).delete()
    _clear_simulator()


def test_exactly_one_attempt_per_contact_under_concurrent_ticks(committed_campaign, django_db_blocker):
    row = DialerCampaign.objects.get(campaign_id=committed_campaign.pk, client__schema_name="bobsplumbing")
    barrier = threading.Barrier(6)
    placed = []

    def race():
        with django_db_blocker.unblock():
            try:
                barrier.wait()
                # Each thread its own tick, as six workers would run them.
                placed.append(dialer.campaign_tick(DialerCampaign.objects.get(pk=row.pk)).placed)
                # And the preview path racing it: an agent's Dial of the same contact.
                with schema_context("bobsplumbing"):
                    contact = Contact.objects.get(campaign=committed_campaign)
                    if dialer.attempt_place(campaign=committed_campaign, contact=contact, client=row.client):
                        placed.append(1)
            finally:
                connection.close()

    threads = [threading.Thread(target=race) for _ in range(6)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(30)
    with django_db_blocker.unblock(), schema_context("bobsplumbing"):
        attempts = CallAttempt.objects.filter(campaign=committed_campaign).count()
    assert sum(placed) == 1 and attempts == 1
    assert len(dialed()) == 1
