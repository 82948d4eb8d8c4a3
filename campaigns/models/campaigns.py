"""Campaigns and call attempts (tenant schema).

Lean on purpose: the outbound issue extends them (lists, dialing modes, scripts,
dispositions, retries). The compliance gate already reads them: frequency caps count
attempts, and the abandonment rate is computed from their outcomes.
"""

from __future__ import annotations

from django.db import models

from compliance.models.settings import RecordingPolicy
from compliance.rules import Channel, Purpose
from tenants.phone import PhoneNumberField


class Campaign(models.Model):
    name = models.CharField(max_length=200)
    purpose = models.CharField(max_length=20, choices=Purpose.choices)
    subject = models.CharField(
        max_length=200, blank=True,
        help_text="What the calls are about, for “same subject” caps; empty means this campaign.",
    )
    recording_policy = models.CharField(max_length=20, choices=RecordingPolicy.choices, default=RecordingPolicy.INHERIT)
    max_attempts_per_24h = models.PositiveSmallIntegerField(null=True, blank=True,
                                                            help_text="Cap on attempts to one number in 24 hours.")
    max_attempts_per_7d = models.PositiveSmallIntegerField(null=True, blank=True,
                                                           help_text="Cap on attempts to one number in 7 days.")
    active = models.BooleanField(default=True)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [models.UniqueConstraint(fields=["name"], name="campaign_name_unique")]

    def __str__(self) -> str:
        return self.name

    @property
    def subject_key(self) -> str:
        return self.subject or f"campaign:{self.pk}"


class CallAttempt(models.Model):
    """One call or text placed to a number (after the gate allowed it), and how it ended."""

    class Outcome(models.TextChoices):
        PENDING = "pending", "In progress"
        LIVE_ANSWERED = "live_answered", "Answered by a person, connected to an agent"
        ABANDONED = "abandoned", "Answered by a person, no agent within 2 s (abandoned)"
        MACHINE = "machine", "Answering machine"
        NO_ANSWER = "no_answer", "No answer"
        BUSY = "busy", "Busy"
        FAILED = "failed", "Failed / not in service"
        SMS_SENT = "sms_sent", "Text sent"
        SMS_FAILED = "sms_failed", "Text failed"

    campaign = models.ForeignKey(Campaign, null=True, blank=True, on_delete=models.PROTECT, related_name="attempts")
    number = PhoneNumberField(db_index=True)
    channel = models.CharField(max_length=12, choices=Channel.choices)
    purpose = models.CharField(max_length=20, choices=Purpose.choices)
    subject = models.CharField(max_length=200, blank=True, help_text="Same-subject caps count by this (a debt, a campaign).")
    started_at = models.DateTimeField(db_index=True)
    answered_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=16, choices=Outcome.choices, default=Outcome.PENDING)
    twilio_sid = models.CharField(max_length=34, blank=True)

    class Meta:
        ordering = ["-started_at"]
        indexes = [models.Index(fields=["number", "started_at"], name="call_attempt_number_time")]

    def __str__(self) -> str:
        return f"{self.number} {self.started_at:%Y-%m-%d %H:%M} {self.outcome}"
