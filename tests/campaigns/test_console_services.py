"""The console's campaign services in-process: preview holds (never one contact for two
agents), dial and skip; and inbound dispatch by the mode agents chose.

Ana works blended for Bob's and Charlie's, Ben inbound for Bob's; Olive (made here) works
outbound for Bob's.
"""

from __future__ import annotations

import datetime as dt
import threading
import uuid
import zoneinfo

import pytest
from django.db import connection
from django.utils import timezone
from django_tenants.utils import schema_context, tenant_context

from answering.acd import services as acd
from answering.acd.models import AgentPresence, CallSession, DialerCampaign
from answering.twilio import gateway
from campaigns.models import CallAttempt, Campaign, Contact, ContactList
from campaigns.services import preview
from campaigns.services.lifecycle import campaign_create, campaign_pause, campaign_start
from compliance.rules import Channel, Purpose
from tenants import services as tenants
from tenants.models import Role, User
from tests.conftest import PASSWORD


def _olive(world) -> User:
    olive = tenants.user_create(email=f"olive-{uuid.uuid4().hex[:6]}@switchboard.test", role=Role.AGENT,
                                password=PASSWORD, full_name="Olive Outbound")
    tenants.agent_skills_set(user=olive, clients=[world.bobs], languages=["en"], mode="outbound")
    _available(olive, world.ana)  # preview is for agents at work; Ana too, in each test that makes Olive
    return olive


def _available(*agents) -> None:
    for agent in agents:
        acd.agent_status_set(agent=agent, status="available")


def _preview_campaign(world, name="Callbacks·T", **fields) -> Campaign:
    with schema_context("bobsplumbing"):
        # Open all day: the suite runs at any hour, and preview honours the calling window.
        fields = {"window_start": dt.time(0), "window_end": dt.time(23, 59, 59), "days": list(range(7)), **fields}
        campaign = campaign_create(name=name, purpose=Purpose.INFORMATIONAL, mode="preview", **fields)
    with tenant_context(world.bobs):
        campaign_start(campaign=campaign, by="test")
    return campaign


def _contacts(campaign: Campaign, *numbers: str, **fields) -> list[Contact]:
    with schema_context("bobsplumbing"):
        contacts, _ = ContactList.objects.get_or_create(campaign=campaign, name="Today")
        return [Contact.objects.create(campaign=campaign, list=contacts, number=n, **fields) for n in numbers]


class FakeDialer:
    """Stands in for ``campaigns.services.dialer.attempt_place``: writes the pending attempt the
    dialer would (or, refusing, the gate's words), and says what it was asked."""

    def __init__(self, refuse: str = ""):
        self.asked: list[dict] = []
        self.refuse = refuse

    def __call__(self, *, campaign, contact, agent_id, client):
        self.asked.append({"campaign": campaign.pk, "contact": contact.pk, "agent_id": agent_id,
                           "schema": connection.schema_name, "client": client.schema_name})
        if self.refuse:
            Contact.objects.filter(pk=contact.pk).update(status=Contact.Status.BLOCKED, reason=self.refuse)
            contact.refresh_from_db()  # as attempt_place does: the contact says why
            return None
        return CallAttempt.objects.create(campaign=campaign, contact=contact, number=contact.number,
                                          channel=campaign.gate_channel, purpose=campaign.purpose, mode="preview",
                                          agent_id=agent_id, started_at=timezone.now())


@pytest.mark.django_db
class TestPreview:
    @pytest.fixture(autouse=True)
    def ana_at_work(self, world):
        _available(world.ana)

    def test_an_agent_not_available_is_refused(self, world):
        _contacts(_preview_campaign(world), "+13125550149")
        AgentPresence.objects.filter(agent=world.ana).update(status="break")
        with pytest.raises(preview.PreviewRefused, match="Your status is “Break”: press 1"):
            preview.preview_next(agent=world.ana)

    def test_the_next_contact_is_held_for_the_agent_and_a_second_agent_gets_another(self, world):
        olive = _olive(world)
        campaign = _preview_campaign(world)
        first, second = _contacts(campaign, "+13125550150", "+13125550151")
        got = preview.preview_next(agent=world.ana)
        assert got.pk == first.pk and got.client == world.bobs and got.reserved_by == world.ana.pk
        assert got.reserved_until > timezone.now() + dt.timedelta(seconds=100)
        assert preview.preview_next(agent=olive).pk == second.pk
        assert preview.preview_next(agent=world.ana).pk == first.pk  # a reload shows the same card
        with schema_context("bobsplumbing"):
            assert Contact.objects.get(pk=first.pk).reserved_by == world.ana.pk

    def test_a_hold_runs_out(self, world):
        olive = _olive(world)
        campaign = _preview_campaign(world)
        (only,) = _contacts(campaign, "+13125550152")
        preview.preview_next(agent=world.ana)
        assert preview.preview_next(agent=olive) is None
        with schema_context("bobsplumbing"):
            Contact.objects.filter(pk=only.pk).update(reserved_until=timezone.now() - dt.timedelta(seconds=1))
        assert preview.preview_next(agent=olive).pk == only.pk

    def test_a_callback_booked_to_an_agent_goes_to_them_first_and_to_others_after_a_grace(self, world):
        olive = _olive(world)
        campaign = _preview_campaign(world)
        fresh, booked = _contacts(campaign, "+13125550153", "+13125550154")
        due = timezone.now() - dt.timedelta(minutes=1)
        with schema_context("bobsplumbing"):
            Contact.objects.filter(pk=booked.pk).update(status=Contact.Status.CALLBACK, next_attempt_at=due,
                                                        callback_agent_id=olive.pk, attempts=3)
        assert preview.preview_next(agent=world.ana).pk == fresh.pk  # not Olive's callback
        assert preview.preview_next(agent=olive).pk == booked.pk  # hers, though its attempts are used up
        with schema_context("bobsplumbing"):
            Contact.objects.filter(pk=booked.pk).update(reserved_by=None, reserved_until=None,
                                                        next_attempt_at=timezone.now() - dt.timedelta(minutes=20))
            Contact.objects.filter(pk=fresh.pk).update(status=Contact.Status.DONE, reserved_by=None)
        assert preview.preview_next(agent=world.ana).pk == booked.pk  # Olive did not come: anyone may

    def test_a_campaign_worked_by_named_agents_is_theirs(self, world):
        olive = _olive(world)
        campaign = _preview_campaign(world, agent_ids=[])
        with schema_context("bobsplumbing"):
            Campaign.objects.filter(pk=campaign.pk).update(agent_ids=[olive.pk])
        _contacts(campaign, "+13125550155")
        assert preview.preview_next(agent=world.ana) is None
        assert preview.preview_next(agent=olive) is not None

    def test_a_paused_campaign_and_a_later_retry_are_not_previewed(self, world):
        campaign = _preview_campaign(world)
        (later,) = _contacts(campaign, "+13125550156", status=Contact.Status.RETRY,
                             next_attempt_at=timezone.now() + dt.timedelta(minutes=5))
        assert preview.preview_next(agent=world.ana) is None
        with schema_context("bobsplumbing"):
            Contact.objects.filter(pk=later.pk).update(next_attempt_at=timezone.now())
        with tenant_context(world.bobs):
            campaign_pause(campaign=campaign, by="test")
        assert not DialerCampaign.objects.filter(client=world.bobs, campaign_id=campaign.pk).exists()
        assert preview.preview_next(agent=world.ana) is None
        with tenant_context(world.bobs):
            campaign_start(campaign=campaign, by="test")
        assert preview.preview_next(agent=world.ana).pk == later.pk

    def test_an_inbound_agent_is_refused(self, world):
        _contacts(_preview_campaign(world), "+13125550157")
        with pytest.raises(preview.PreviewRefused, match="inbound calls only"):
            preview.preview_next(agent=world.ben)

    def test_dial_places_the_call_for_this_agent_and_ends_the_hold(self, world, monkeypatch):
        fake = FakeDialer()
        monkeypatch.setattr(preview, "_place", fake)
        campaign = _preview_campaign(world)
        (contact,) = _contacts(campaign, "+13125550158")
        preview.preview_next(agent=world.ana)
        attempt = preview.preview_dial(agent=world.ana, contact_id=contact.pk, client="bobsplumbing")
        assert fake.asked == [{"campaign": campaign.pk, "contact": contact.pk, "agent_id": world.ana.pk,
                               "schema": "bobsplumbing", "client": "bobsplumbing"}]
        assert attempt.agent_id == world.ana.pk
        with schema_context("bobsplumbing"):
            held = Contact.objects.get(pk=contact.pk)
        assert held.reserved_by is None and held.reserved_until is None

    def test_dial_refused_by_the_gate_says_why(self, world, monkeypatch):
        monkeypatch.setattr(preview, "_place", FakeDialer(refuse="On Bob's Plumbing's do-not-call list (agent)."))
        campaign = _preview_campaign(world)
        (contact,) = _contacts(campaign, "+13125550159")
        preview.preview_next(agent=world.ana)
        with pytest.raises(preview.PreviewRefused, match="Not dialed: On Bob's Plumbing's do-not-call list"):
            preview.preview_dial(agent=world.ana, contact_id=contact.pk)

    def test_a_contact_not_held_is_not_dialed(self, world, monkeypatch):
        fake = FakeDialer()
        monkeypatch.setattr(preview, "_place", fake)
        olive = _olive(world)
        campaign = _preview_campaign(world)
        (contact,) = _contacts(campaign, "+13125550160")
        preview.preview_next(agent=olive)
        with pytest.raises(preview.PreviewRefused, match="no longer held for you"):
            preview.preview_dial(agent=world.ana, contact_id=contact.pk, client="bobsplumbing")
        assert fake.asked == []

    def test_skip_releases_the_contact_without_spending_an_attempt(self, world):
        olive = _olive(world)
        campaign = _preview_campaign(world)
        (contact,) = _contacts(campaign, "+13125550161")
        preview.preview_next(agent=world.ana)
        preview.preview_skip(agent=world.ana, contact_id=contact.pk, reason="Number looks like a fax")
        with schema_context("bobsplumbing"):
            skipped = Contact.objects.get(pk=contact.pk)
            attempt = CallAttempt.objects.get(contact=contact)
        assert skipped.attempts == 0 and skipped.reserved_by is None
        assert skipped.next_attempt_at >= timezone.now() + preview.SKIP_WAIT - dt.timedelta(seconds=5)
        assert attempt.outcome == "skipped" and attempt.agent_id == world.ana.pk
        assert attempt.detail == "Skipped by Ana Agent: Number looks like a fax"
        assert preview.preview_next(agent=olive) is None  # not shown again straight away

    def test_another_clients_contact_is_out_of_reach(self, world):
        """Ben serves Bob's only: a preview campaign of Charlie's is never his to see (and Ana,
        who serves both, gets Charlie's contact with Charlie named as its client)."""
        with schema_context("charlieclinic"):
            campaign = campaign_create(name="Recalls·T", purpose=Purpose.INFORMATIONAL, mode="preview",
                                       window_start=dt.time(0), window_end=dt.time(23, 59, 59), days=list(range(7)))
            contacts = ContactList.objects.create(campaign=campaign, name="Today")
            Contact.objects.create(campaign=campaign, list=contacts, number="+13125550162")
        with tenant_context(world.charlies):
            campaign_start(campaign=campaign, by="test")
        olive = _olive(world)  # Bob's only, outbound
        assert preview.preview_next(agent=olive) is None
        got = preview.preview_next(agent=world.ana)
        assert got.client == world.charlies
        with pytest.raises(preview.PreviewRefused, match="do not work for that client"):
            preview.preview_skip(agent=olive, contact_id=got.pk, client="charlieclinic")


def test_two_agents_asking_at_the_same_instant_never_get_the_same_contact(world, django_db_blocker):
    """Committed rows and two threads, each on its own connection: the pick's FOR UPDATE SKIP
    LOCKED and the hold written in the same transaction leave one contact to one agent."""
    with django_db_blocker.unblock():
        # Two agents of this test's own: Ana's presence may still be changed by a worker's late
        # task from an earlier browser test (her console closed: set away after the grace).
        olive, pia = _olive(world), _olive(world)
        _available(olive, pia)
        campaign = _preview_campaign(world, name="Race·T")
        _contacts(campaign, "+13125550163")
    got: dict[str, int | None] = {}
    start = threading.Barrier(2)

    def ask(agent):
        try:
            with django_db_blocker.unblock():
                start.wait(5)
                contact = preview.preview_next(agent=agent)
                got[agent.email] = contact.pk if contact else None
        finally:
            connection.close()

    try:
        for _ in range(5):
            with django_db_blocker.unblock(), schema_context("bobsplumbing"):
                Contact.objects.filter(campaign=campaign).update(reserved_by=None, reserved_until=None)
            got.clear()
            threads = [threading.Thread(target=ask, args=(a,)) for a in (pia, olive)]
            for t in threads:
                t.start()
            for t in threads:
                t.join(20)
            taken = [pk for pk in got.values() if pk is not None]
            assert len(got) == 2 and len(taken) == 1, got
    finally:
        with django_db_blocker.unblock():
            with schema_context("bobsplumbing"):
                Contact.objects.filter(campaign=campaign).delete()
                ContactList.objects.filter(campaign=campaign).delete()
                campaign.delete()
            DialerCampaign.objects.filter(campaign_id=campaign.pk, client=world.bobs).delete()
            AgentPresence.objects.filter(agent__in=[olive, world.ana]).delete()
            olive.delete()


class Telephone:
    """The gateway as far as the dialer reaches it: the calls it was asked to place."""

    def __init__(self):
        self.dialed: list[str] = []

    def call_dial(self, *, to, **kwargs):
        self.dialed.append(to)
        return gateway.Sent(sid="CA" + uuid.uuid4().hex, status="queued")


@pytest.mark.django_db
class TestPreviewWithTheDialer:
    """``preview_dial`` through the lead's real ``attempt_place`` and the real gate, with the
    telephone faked; at 15:00 on a Wednesday in Chicago, inside every calling window."""

    @pytest.fixture(autouse=True)
    def afternoon(self, world, monkeypatch):
        _available(world.ana)
        wednesday = dt.datetime(2026, 12, 2, 15, 0, tzinfo=zoneinfo.ZoneInfo("America/Chicago"))
        monkeypatch.setattr(timezone, "now", lambda: wednesday.astimezone(dt.timezone.utc))
        phone = Telephone()
        monkeypatch.setattr(gateway, "get", lambda: phone)
        return phone

    def test_the_dial_places_one_call_for_this_agent(self, world, afternoon):
        campaign = _preview_campaign(world)
        (contact,) = _contacts(campaign, "+13125550164", first_name="Ari")
        preview.preview_next(agent=world.ana)
        attempt = preview.preview_dial(agent=world.ana, contact_id=contact.pk)
        assert afternoon.dialed == ["+13125550164"]
        with schema_context("bobsplumbing"):
            attempt = CallAttempt.objects.get(pk=attempt.pk)
            contact = Contact.objects.get(pk=contact.pk)
        assert attempt.agent_id == world.ana.pk and attempt.mode == "preview" and attempt.outcome == "pending"
        assert attempt.channel == Channel.VOICE  # a person dials in preview
        assert contact.status == Contact.Status.IN_FLIGHT and contact.reserved_by is None

    def test_a_number_opted_out_by_a_disposition_is_refused_with_the_gates_words(self, world, afternoon):
        from compliance.services import opt_out_record

        campaign = _preview_campaign(world)
        (contact,) = _contacts(campaign, "+13125550165")
        with schema_context("bobsplumbing"):
            opt_out_record(client=world.bobs, number="+13125550165", source="agent", added_by="agent test")
        preview.preview_next(agent=world.ana)
        with pytest.raises(preview.PreviewRefused, match="do-not-call list"):
            preview.preview_dial(agent=world.ana, contact_id=contact.pk)
        assert afternoon.dialed == []
        with schema_context("bobsplumbing"):
            assert Contact.objects.get(pk=contact.pk).status == Contact.Status.DNC


@pytest.mark.django_db
class TestInboundDispatchByMode:
    def _queued(self, world) -> CallSession:
        return CallSession.objects.create(call_sid="CA" + uuid.uuid4().hex, client=world.bobs,
                                          to_number="+12125550111", state=CallSession.State.QUEUED,
                                          queued_at=timezone.now())

    def test_an_outbound_mode_agent_is_skipped_and_a_blended_one_is_offered_the_call(self, world):
        AgentPresence.objects.filter(agent=world.ben).delete()  # Ben is not at work
        acd.agent_status_set(agent=world.ana, status="available")
        acd.agent_mode_set(agent=world.ana, mode="outbound")
        session = self._queued(world)
        assert list(acd.eligible_agents(session)) == []
        assert acd.acd_dispatch() == []
        acd.agent_mode_set(agent=world.ana, mode="blended")
        assert [p.agent_id for p in acd.eligible_agents(session)] == [world.ana.pk]
        offered = acd.acd_dispatch()
        assert [(s.pk, s.offered_to_id) for s in offered] == [(session.pk, world.ana.pk)]

    def test_an_outbound_profile_starts_in_outbound_and_cannot_take_inbound(self, world):
        olive = _olive(world)
        presence = acd.agent_status_set(agent=olive, status="available")
        assert presence.mode == "outbound"
        with pytest.raises(ValueError, match="allows outbound work, not inbound"):
            acd.agent_mode_set(agent=olive, mode="inbound")
        assert AgentPresence.objects.get(agent=olive).mode == "outbound"
