"""A campaign's life: created with its dispositions, started, paused, stopped, completed.

Run inside the client's schema. Starting writes the public ``DialerCampaign`` row the
dialer's beat ticks, in the same transaction as the campaign's state, so a campaign runs
exactly while both say so; pausing or stopping deletes it (attempts in flight finish).
"""

from __future__ import annotations

from django.db import transaction
from django.utils import timezone

from answering.acd.models import DialerCampaign
from campaigns.models import DEFAULT_DISPOSITIONS, Campaign, Contact, Disposition
from compliance.rules import Purpose
from tenants.selectors import client_current


class CampaignRefused(Exception):
    """The campaign cannot do what was asked; the message says why, for a person."""


def dispositions_default(campaign: Campaign) -> list[Disposition]:
    """The usual dispositions (sale, appointment, callback, not interested, wrong number, do
    not call), for a campaign that has none yet."""
    if campaign.dispositions.exists():
        return list(campaign.dispositions.all())
    return Disposition.objects.bulk_create([
        Disposition(campaign=campaign, code=code, label=label, kind=kind, final=final, success=success, position=i)
        for i, (code, label, kind, final, success) in enumerate(DEFAULT_DISPOSITIONS)
    ])


@transaction.atomic
def campaign_create(*, name: str, purpose: str, **fields) -> Campaign:
    """A new campaign (not started) with the default dispositions."""
    campaign = Campaign(name=name, purpose=purpose, **fields)
    campaign.full_clean()
    campaign.save()
    dispositions_default(campaign)
    return campaign


def wallboard_push() -> None:
    """Redraw the wallboard's campaign panel (coalesced: a round of ticks costs one push)."""
    from answering import wallboard

    try:
        wallboard.campaigns_push()
    except Exception:  # the wall catches up at its next refresh
        import logging

        logging.getLogger("switchboard.dialer").exception("wallboard campaign push failed")


def _dialer_row(campaign: Campaign) -> None:
    DialerCampaign.objects.update_or_create(
        client_id=client_current().pk, campaign_id=campaign.pk,
        defaults={"name": campaign.name, "mode": campaign.mode, "reason": campaign.state_reason})


def _set_state(campaign: Campaign, state: str, reason: str) -> Campaign:
    Campaign.objects.filter(pk=campaign.pk).update(state=state, state_reason=reason[:300])
    campaign.state, campaign.state_reason = state, reason[:300]
    transaction.on_commit(wallboard_push)  # a started or stopped campaign shows at once, not at the next tick
    if state == Campaign.State.RUNNING:
        _dialer_row(campaign)
    else:
        DialerCampaign.objects.filter(client_id=client_current().pk, campaign_id=campaign.pk).delete()
    if state in (Campaign.State.COMPLETED, Campaign.State.STOPPED):
        from webhooks import events  # campaign.completed, committed with the state

        events.campaign_completed(campaign)
    return campaign


@transaction.atomic
def campaign_start(*, campaign: Campaign, by: str) -> Campaign:
    """Start (or resume) dialing. Refused for a stopped or completed campaign, one switched off,
    or a text campaign without a text. A voice campaign without a script still dials (the agent
    sees the contact and its fields), and one with nothing left to dial completes at its first tick."""
    campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
    if campaign.state in (Campaign.State.STOPPED, Campaign.State.COMPLETED):
        raise CampaignRefused(f"“{campaign.name}” is {campaign.get_state_display().lower()}; it cannot start again.")
    if campaign.channel == Campaign.Kind.SMS and not campaign.sms_text.strip():
        raise CampaignRefused(f"“{campaign.name}” sends texts but has no text to send.")
    if not campaign.active:
        raise CampaignRefused(f"“{campaign.name}” is switched off.")
    if campaign.state == Campaign.State.RUNNING:
        return campaign
    when = timezone.localtime().strftime("%H:%M")
    return _set_state(campaign, Campaign.State.RUNNING, f"Started by {by} at {when}.")


@transaction.atomic
def campaign_pause(*, campaign: Campaign, by: str, reason: str = "") -> Campaign:
    """Stop placing new calls; calls in progress finish. Start resumes."""
    campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
    if campaign.state != Campaign.State.RUNNING:
        return campaign
    when = timezone.localtime().strftime("%H:%M")
    return _set_state(campaign, Campaign.State.PAUSED, reason or f"Paused by {by} at {when}.")


@transaction.atomic
def campaign_stop(*, campaign: Campaign, by: str) -> Campaign:
    """End the campaign for good: nothing more is dialed; the results stay."""
    campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
    if campaign.state in (Campaign.State.STOPPED, Campaign.State.COMPLETED):
        return campaign
    when = timezone.localtime().strftime("%H:%M")
    return _set_state(campaign, Campaign.State.STOPPED, f"Stopped by {by} at {when}.")


@transaction.atomic
def campaign_complete_if_done(*, campaign: Campaign) -> bool:
    """Mark a running campaign completed once no contact is left to dial or in flight (the
    callbacks campaign never completes: follow-ups keep arriving)."""
    if campaign.is_callbacks:
        return False
    campaign = Campaign.objects.select_for_update().get(pk=campaign.pk)
    if campaign.state != Campaign.State.RUNNING:
        return False
    left = Contact.objects.filter(campaign=campaign, status__in=[*Contact.DIALABLE, Contact.Status.IN_FLIGHT]).exists()
    if left:
        return False
    _set_state(campaign, Campaign.State.COMPLETED, "Every contact has been worked.")
    return True


def callbacks_campaign() -> Campaign:
    """The client's callbacks campaign (follow-ups from inbound calls), created and started on
    first use: preview mode, so the agent sees why before dialing; informational purpose, since
    the caller asked to be called back about their own call."""
    campaign = Campaign.objects.filter(is_callbacks=True).first()
    if campaign is None:
        with transaction.atomic():
            campaign, created = Campaign.objects.get_or_create(
                is_callbacks=True,
                defaults={"name": "Callbacks", "purpose": Purpose.INFORMATIONAL, "mode": Campaign.Mode.PREVIEW,
                          "max_attempts": 3, "retry_no_answer_minutes": 30, "retry_machine_minutes": 60})
            if created:
                dispositions_default(campaign)
    if campaign.state not in (Campaign.State.RUNNING,) and campaign.active:
        with transaction.atomic():
            _set_state(campaign, Campaign.State.RUNNING, "Follow-ups from inbound calls.")
    return campaign
