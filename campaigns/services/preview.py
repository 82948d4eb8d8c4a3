"""Preview dialing: the agent sees the next contact (its history, the script), then dials or
skips it.

A contact shown to an agent is held for them (``reserved_by`` / ``reserved_until``,
``HOLD``): the pick locks with ``SELECT … FOR UPDATE SKIP LOCKED`` and writes the hold in the
same transaction, so two agents asking at the same instant never get the same contact, and
a hold not acted on runs out by itself (a closed console holds nobody for long).

Campaigns live in each client's schema; the public ``DialerCampaign`` rows (one per running
campaign, with its mode) say which of the agent's clients have a preview campaign running,
so only those schemas are visited.
"""

from __future__ import annotations

from datetime import timedelta

from django.db import transaction
from django.db.models import Case, F, IntegerField, Q, Value, When
from django.utils import timezone
from django_tenants.utils import schema_context

from answering.acd.models import AgentPresence, DialerCampaign
from answering.acd.selectors import agent_clients
from answering.acd.services.agents import agent_mode, agent_modes
from campaigns.models import CallAttempt, Campaign, Contact
from tenants.models import Client, User

HOLD = timedelta(minutes=2)  # how long a previewed contact stays the agent's without a Dial or Skip
# A callback booked to an agent waits for them this long past its time, then anyone may take it.
CALLBACK_GRACE = timedelta(minutes=15)
SKIP_WAIT = timedelta(minutes=30)  # a skipped contact is not shown again (to anyone) before this


class PreviewRefused(Exception):
    """The preview action cannot be done; the message says why, for the agent."""


def _place(*, campaign: Campaign, contact: Contact, agent_id: int | None, client: Client):
    # The dialer's one way to place a call (gate, attempt, gateway); imported when first
    # needed (the dialer imports much), and named here so a test can stand in for it.
    from campaigns.services.dialer import attempt_place

    return attempt_place(campaign=campaign, contact=contact, agent_id=agent_id, client=client)


def preview_clients(agent: User) -> list[tuple[Client, list[int]]]:
    """The agent's clients with a preview campaign running, and those campaigns' ids: one
    public query."""
    clients = {c.pk: c for c in agent_clients(agent)}
    running: dict[int, list[int]] = {}
    for client_id, campaign_id in DialerCampaign.objects.filter(
            client_id__in=clients, mode=Campaign.Mode.PREVIEW).values_list("client_id", "campaign_id"):
        running.setdefault(client_id, []).append(campaign_id)
    return [(clients[pk], ids) for pk, ids in running.items()]


def _at_work(agent: User) -> None:
    """Preview is for an agent free to take the call it places: in outbound or blended mode,
    and available (not on break, offline or on another call)."""
    presence = AgentPresence.objects.filter(agent=agent).first()
    if agent_mode(presence, agent_modes(agent)) not in ("outbound", "blended"):
        raise PreviewRefused("You are working inbound calls only: choose outbound or blended to preview contacts.")
    if presence is None or presence.status != AgentPresence.Status.AVAILABLE:
        status = presence.get_status_display() if presence else AgentPresence.Status.OFFLINE.label
        raise PreviewRefused(f"Your status is “{status}”: press 1 (available) to preview and dial contacts.")


def preview_held(*, agent: User) -> tuple[Client, Contact] | None:
    """The contact held for the agent now, if any (a reload shows the same card)."""
    now = timezone.now()
    for client, ids in preview_clients(agent):
        with schema_context(client.schema_name):
            contact = (Contact.objects.select_related("campaign")
                       .filter(campaign_id__in=ids, reserved_by=agent.pk, reserved_until__gt=now,
                               status__in=Contact.DIALABLE).first())
        if contact is not None:
            return client, contact
    return None


def _in_window(client: Client, ids: list[int], now) -> Q:
    """Contacts whose own local time is inside their campaign's window now (the dialer's rule,
    ``dialer.zones_in_window``), so the card never offers someone the gate would refuse for the hour."""
    from campaigns.services.dialer import zones_in_window

    window = Q(pk__in=[])
    for campaign in Campaign.objects.filter(pk__in=ids):
        window |= Q(campaign_id=campaign.pk, time_zone__in=zones_in_window(campaign, client, now))
    return window


def _dialable(agent: User, ids: list[int], now, *, booked_to_me: bool, window: Q | None = None):
    mine = Q(callback_agent_id=agent.pk, status=Contact.Status.CALLBACK)
    contacts = (Contact.objects.filter(window or Q(), campaign_id__in=ids, campaign__state=Campaign.State.RUNNING,
                                       campaign__mode=Campaign.Mode.PREVIEW, campaign__channel=Campaign.Kind.VOICE,
                                       list__active=True, status__in=Contact.DIALABLE)
                .filter(Q(next_attempt_at__isnull=True) | Q(next_attempt_at__lte=now))
                .filter(Q(reserved_until__isnull=True) | Q(reserved_until__lte=now) | Q(reserved_by=agent.pk))
                .filter(Q(campaign__agent_ids=[]) | Q(campaign__agent_ids__contains=[agent.pk]))
                # A booked callback is called even when the campaign's attempts are used up.
                .filter(Q(attempts__lt=F("campaign__max_attempts")) | Q(status=Contact.Status.CALLBACK)))
    if booked_to_me:
        return contacts.filter(mine).order_by("next_attempt_at", "id")
    return (contacts.filter(Q(callback_agent_id__isnull=True) | Q(callback_agent_id=agent.pk)
                            | Q(next_attempt_at__lte=now - CALLBACK_GRACE))
            # Callbacks first (a person is expecting them), then the lists' priority.
            .annotate(first=Case(When(status=Contact.Status.CALLBACK, then=Value(0)), default=Value(1),
                                 output_field=IntegerField()))
            .order_by("first", "-list__priority", F("next_attempt_at").asc(nulls_first=True), "id"))


def preview_next(*, agent: User) -> Contact | None:
    """Hold the next contact for the agent to preview and return it (with ``client``, the
    client it belongs to, set on it), or None when no preview campaign of their clients has
    one to dial now. The contact already held for them comes back first (a reload, a second
    console); then callbacks booked to them, across their clients; then any dialable
    contact (callbacks first, then the higher list priority, then the longest waiting).
    Refused (PreviewRefused) for an agent working inbound only, or not available."""
    _at_work(agent)
    held = preview_held(agent=agent)
    if held is not None:
        client, contact = held
        contact.client = client
        return contact
    now = timezone.now()
    clients = preview_clients(agent)
    for booked_to_me in (True, False):
        for client, ids in clients:
            with schema_context(client.schema_name), transaction.atomic():
                contact = (_dialable(agent, ids, now, booked_to_me=booked_to_me, window=_in_window(client, ids, now))
                           .select_for_update(skip_locked=True, of=("self",)).select_related("campaign").first())
                if contact is None:
                    continue
                # One contact held per agent: whatever else they held goes back.
                Contact.objects.filter(reserved_by=agent.pk).exclude(pk=contact.pk).update(
                    reserved_by=None, reserved_until=None)
                contact.reserved_by, contact.reserved_until = agent.pk, now + HOLD
                Contact.objects.filter(pk=contact.pk).update(reserved_by=agent.pk, reserved_until=now + HOLD)
            contact.client = client
            return contact
    return None


def _client_of(agent: User, client: Client | str | None) -> Client:
    if client is not None:
        slug = client.schema_name if isinstance(client, Client) else str(client)
        found = next((c for c in agent_clients(agent) if c.schema_name == slug), None)
        if found is None:
            raise PreviewRefused("You do not work for that client.")
        return found
    held = preview_held(agent=agent)
    if held is None:
        raise PreviewRefused("No contact is held for you now: take the next one.")
    return held[0]


def _held_locked(agent: User, contact_id: int) -> Contact:
    contact = (Contact.objects.select_for_update(of=("self",)).select_related("campaign")
               .filter(pk=contact_id, reserved_by=agent.pk).first())
    if contact is None:
        raise PreviewRefused("That contact is no longer held for you: take the next one.")
    if contact.status not in Contact.DIALABLE:
        raise PreviewRefused(f"That contact is {contact.get_status_display().lower()} now: take the next one.")
    return contact


def preview_dial(*, agent: User, contact_id: int, client: Client | str | None = None) -> CallAttempt:
    """The agent dials the contact they preview: through the dialer's ``attempt_place``
    (the gate is asked, the attempt written, the call placed) with ``agent_id`` set, so the
    person who answers is connected to this agent. The hold ends with the dial. Raises
    PreviewRefused with the gate's words when the call was not placed (or the agent is no
    longer available to take it)."""
    _at_work(agent)
    client = _client_of(agent, client)
    with schema_context(client.schema_name):
        with transaction.atomic():
            contact = _held_locked(agent, int(contact_id))
            if not contact.campaign.state == Campaign.State.RUNNING:
                raise PreviewRefused(f"“{contact.campaign.name}” is {contact.campaign.get_state_display().lower()}.")
            # Held a little longer while the call is being placed (after the commit: the
            # dialer writes its attempt in transactions of its own, before it dials).
            Contact.objects.filter(pk=contact.pk).update(reserved_until=timezone.now() + HOLD)
        why_called = contact.reason
        try:
            attempt = _place(campaign=contact.campaign, contact=contact, agent_id=agent.pk, client=client)
        finally:
            Contact.objects.filter(pk=contact.pk, reserved_by=agent.pk).update(reserved_by=None, reserved_until=None)
        if attempt is None:
            # attempt_place leaves the gate's words (or the abandonment cap's) on contact.reason;
            # unchanged, the contact was already being called (another Dial, a tick).
            said = contact.reason if contact.reason != why_called else "it is already being called."
            raise PreviewRefused(f"Not dialed: {said}")
    return attempt


def preview_skip(*, agent: User, contact_id: int, reason: str = "", client: Client | str | None = None) -> Contact:
    """The agent passes on the contact they preview. The hold ends and the contact is not
    shown again for ``SKIP_WAIT``; the skip is kept as an attempt with outcome SKIPPED (so
    the next agent reads who skipped it and why) that does not count against the contact's
    attempts: nobody was called."""
    client = _client_of(agent, client)
    now = timezone.now()
    with schema_context(client.schema_name), transaction.atomic():
        contact = _held_locked(agent, int(contact_id))
        campaign = contact.campaign
        CallAttempt.objects.create(
            campaign=campaign, contact=contact, number=contact.number, channel=campaign.gate_channel,
            purpose=campaign.purpose, subject=campaign.subject_key, mode=campaign.mode, agent_id=agent.pk,
            started_at=now, ended_at=now, outcome=CallAttempt.Outcome.SKIPPED,
            detail=(f"Skipped by {agent}: {reason}" if reason else f"Skipped by {agent}.")[:300])
        contact.reserved_by = contact.reserved_until = None
        contact.next_attempt_at = max(contact.next_attempt_at or now, now + SKIP_WAIT)
        contact.save(update_fields=["reserved_by", "reserved_until", "next_attempt_at", "updated"])
    contact.client = client
    return contact
