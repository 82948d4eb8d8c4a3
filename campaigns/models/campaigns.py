"""Campaigns, their dispositions and their call attempts (tenant schema).

A campaign is what the dialer works through: a purpose the compliance gate judges, a
channel, a script the console runs, a caller ID, a calling window (always narrowed by the
gate in the callee's local time), a dialing mode, retries by outcome, answering-machine
detection with a voicemail drop, dispositions and a schedule. The gate already reads
attempts: frequency caps count them, and the abandonment rate is computed from their
outcomes (``compliance.selectors.campaign_abandonment_rate``).
"""

from __future__ import annotations

import datetime as dt

from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.db.models import Q

from compliance.models.settings import RecordingPolicy
from compliance.rules import Channel, Purpose
from tenants.phone import PhoneNumberField


def default_days() -> list[int]:
    return [0, 1, 2, 3, 4, 5]  # Monday to Saturday (ISO weekday - 1)


class Campaign(models.Model):
    class Mode(models.TextChoices):
        PREVIEW = "preview", "Preview (the agent sees the contact, then dials or skips)"
        PROGRESSIVE = "progressive", "Progressive (one line per available agent)"
        PREDICTIVE = "predictive", "Predictive (lines paced from the answer rate, capped by abandonment)"

    class Kind(models.TextChoices):
        VOICE = "voice", "Calls"
        SMS = "sms", "Texts"

    class State(models.TextChoices):
        DRAFT = "draft", "Not started"
        RUNNING = "running", "Running"
        PAUSED = "paused", "Paused"
        STOPPED = "stopped", "Stopped"
        COMPLETED = "completed", "Completed"

    class Drop(models.TextChoices):
        NONE = "none", "Hang up on machines"
        SPOKEN = "spoken", "Leave a spoken message"
        RECORDED = "recorded", "Play a recording"

    name = models.CharField(max_length=200)
    purpose = models.CharField(max_length=20, choices=Purpose.choices)
    subject = models.CharField(
        max_length=200, blank=True,
        help_text="What the calls are about, for “same subject” caps; empty means this campaign.",
    )
    channel = models.CharField(max_length=8, choices=Kind.choices, default=Kind.VOICE)
    script = models.ForeignKey("answering.Script", null=True, blank=True, on_delete=models.SET_NULL,
                               related_name="campaigns", help_text="What the agent reads on a connected call.")
    sms_text = models.TextField(blank=True, help_text="The text sent (texts campaigns); {first_name} etc. merge "
                                                      "the contact's fields.")
    caller_id = PhoneNumberField(blank=True, help_text="One of the client's numbers; empty: the client's first.")
    local_presence = models.BooleanField(default=True, help_text="Show the client's number in the callee's area "
                                                                 "code when it has one.")
    window_start = models.TimeField(default=dt.time(9, 0), help_text="Earliest local time of the callee.")
    window_end = models.TimeField(default=dt.time(20, 0), help_text="Latest local time of the callee.")
    days = ArrayField(models.PositiveSmallIntegerField(), default=default_days, blank=True,
                      help_text="Weekdays to call on, 0 = Monday.")
    mode = models.CharField(max_length=12, choices=Mode.choices, default=Mode.PROGRESSIVE)
    # At a 17.5% person-answer rate, keeping agents busy takes about 5.7 lines each: the
    # simulated day (tests/bench/bench_dialer_day.py) meets its targets at 6, not at 3.
    max_lines_per_agent = models.DecimalField(max_digits=3, decimal_places=1, default=6,
                                              help_text="Predictive: never more lines than this per agent.")
    max_attempts = models.PositiveSmallIntegerField(default=3, help_text="Attempts per contact.")
    retry_busy_minutes = models.PositiveIntegerField(default=10)
    retry_no_answer_minutes = models.PositiveIntegerField(default=120)
    retry_machine_minutes = models.PositiveIntegerField(default=24 * 60)
    retry_failed_minutes = models.PositiveIntegerField(default=24 * 60)
    retry_abandoned_minutes = models.PositiveIntegerField(default=60)
    ring_seconds = models.PositiveSmallIntegerField(default=25, help_text="How long a call rings (at least 15 s).")
    amd = models.BooleanField("answering-machine detection", default=True)
    voicemail_drop = models.CharField(max_length=8, choices=Drop.choices, default=Drop.SPOKEN)
    voicemail_text = models.TextField(blank=True, help_text="Left after the beep (spoken); the client's name and "
                                                            "number by default.")
    voicemail_audio_url = models.URLField(blank=True)
    safe_harbour_text = models.TextField(blank=True, help_text="Played to a person when no agent is free within "
                                                               "2 s; the client's name, a number and how to opt out "
                                                               "by default.")
    agent_ids = ArrayField(models.BigIntegerField(), default=list, blank=True,
                           help_text="Agents who work it; empty: every agent serving the client in outbound or "
                                     "blended mode.")
    is_callbacks = models.BooleanField(default=False, help_text="The client's callbacks campaign: follow-ups from "
                                                                "inbound calls land here.")
    starts_at = models.DateTimeField(null=True, blank=True)
    ends_at = models.DateTimeField(null=True, blank=True)
    state = models.CharField(max_length=10, choices=State.choices, default=State.DRAFT)
    state_reason = models.CharField(max_length=300, blank=True, help_text="Why the state last changed, in words.")
    recording_policy = models.CharField(max_length=20, choices=RecordingPolicy.choices, default=RecordingPolicy.INHERIT)
    max_attempts_per_24h = models.PositiveSmallIntegerField(null=True, blank=True,
                                                            help_text="Cap on attempts to one number in 24 hours.")
    max_attempts_per_7d = models.PositiveSmallIntegerField(null=True, blank=True,
                                                           help_text="Cap on attempts to one number in 7 days.")
    active = models.BooleanField(default=True)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["name"]
        constraints = [
            models.UniqueConstraint(fields=["name"], name="campaign_name_unique"),
            models.UniqueConstraint(fields=["is_callbacks"], condition=Q(is_callbacks=True),
                                    name="campaign_one_callbacks"),
            models.CheckConstraint(condition=Q(ring_seconds__gte=15), name="campaign_rings_15s"),
        ]

    def __str__(self) -> str:
        return self.name

    @property
    def subject_key(self) -> str:
        return self.subject or f"campaign:{self.pk}"

    @property
    def gate_channel(self) -> str:
        """The channel the gate judges a dial of this campaign by: a person dials in preview;
        progressive and predictive are autodialed; texts are texts."""
        if self.channel == self.Kind.SMS:
            return Channel.SMS
        return Channel.VOICE if self.mode == self.Mode.PREVIEW else Channel.AUTODIALED

    def retry_minutes(self, outcome: str) -> int | None:
        return {
            CallAttempt.Outcome.BUSY: self.retry_busy_minutes,
            CallAttempt.Outcome.NO_ANSWER: self.retry_no_answer_minutes,
            CallAttempt.Outcome.MACHINE: self.retry_machine_minutes,
            CallAttempt.Outcome.FAILED: self.retry_failed_minutes,
            CallAttempt.Outcome.ABANDONED: self.retry_abandoned_minutes,
        }.get(outcome)


class Disposition(models.Model):
    """How an agent closes a connected call. ``kind`` says what follows from it."""

    class Kind(models.TextChoices):
        SALE = "sale", "Sale (with an amount)"
        APPOINTMENT = "appointment", "Appointment set"
        CALLBACK = "callback", "Call back at a time"
        NOT_INTERESTED = "not_interested", "Not interested"
        WRONG_NUMBER = "wrong_number", "Wrong number"
        DNC = "dnc", "Do not call (opt-out)"
        OTHER = "other", "Other"

    campaign = models.ForeignKey(Campaign, on_delete=models.CASCADE, related_name="dispositions")
    code = models.SlugField(max_length=40)
    label = models.CharField(max_length=100)
    kind = models.CharField(max_length=16, choices=Kind.choices, default=Kind.OTHER)
    final = models.BooleanField(default=True, help_text="The contact is done (no more attempts).")
    success = models.BooleanField(default=False, help_text="Counts as a conversion in results.")
    position = models.PositiveSmallIntegerField(default=0)

    class Meta:
        ordering = ["campaign", "position", "id"]
        constraints = [models.UniqueConstraint(fields=["campaign", "code"], name="disposition_code_unique")]

    def __str__(self) -> str:
        return self.label


DEFAULT_DISPOSITIONS = (
    # code, label, kind, final, success
    ("sale", "Sale", Disposition.Kind.SALE, True, True),
    ("appointment", "Appointment set", Disposition.Kind.APPOINTMENT, True, True),
    ("callback", "Call back later", Disposition.Kind.CALLBACK, False, False),
    ("not_interested", "Not interested", Disposition.Kind.NOT_INTERESTED, True, False),
    ("wrong_number", "Wrong number", Disposition.Kind.WRONG_NUMBER, True, False),
    ("dnc", "Do not call", Disposition.Kind.DNC, True, False),
)


class CallAttempt(models.Model):
    """One call or text placed to a number (after the gate allowed it), and how it ended.

    Written (outcome pending, no SID yet) and committed before the gateway is asked to dial,
    so a worker killed between the two leaves a row the sweep settles (``sent_find``)
    instead of a call nobody knows about. At most one pending attempt per contact: the
    database refuses a second (``call_attempt_one_in_flight``), whatever ticks run at once.
    """

    class Outcome(models.TextChoices):
        PENDING = "pending", "In progress"
        LIVE_ANSWERED = "live_answered", "Answered by a person, connected to an agent"
        ABANDONED = "abandoned", "Answered by a person, no agent within 2 s (abandoned)"
        MACHINE = "machine", "Answering machine"
        NO_ANSWER = "no_answer", "No answer"
        BUSY = "busy", "Busy"
        FAILED = "failed", "Failed / not in service"
        NOT_PLACED = "not_placed", "Not placed (the dialer stopped before Twilio had it)"
        SKIPPED = "skipped", "Skipped by the agent (preview)"
        SMS_SENT = "sms_sent", "Text sent"
        SMS_FAILED = "sms_failed", "Text failed"

    campaign = models.ForeignKey(Campaign, null=True, blank=True, on_delete=models.PROTECT, related_name="call_attempts")
    contact = models.ForeignKey("campaigns.Contact", null=True, blank=True, on_delete=models.SET_NULL,
                                related_name="call_attempts")
    number = PhoneNumberField(db_index=True)
    caller_id = models.CharField(max_length=16, blank=True, help_text="The number shown to the callee.")
    channel = models.CharField(max_length=12, choices=Channel.choices)
    purpose = models.CharField(max_length=20, choices=Purpose.choices)
    subject = models.CharField(max_length=200, blank=True, help_text="Same-subject caps count by this (a debt, a campaign).")
    mode = models.CharField(max_length=12, blank=True)
    agent_id = models.BigIntegerField(null=True, blank=True, help_text="The agent who had the call (or previewed it).")
    ledger_id = models.BigIntegerField(null=True, blank=True, help_text="The gate's decision that allowed it.")
    started_at = models.DateTimeField(db_index=True)
    answered_at = models.DateTimeField(null=True, blank=True)
    connected_at = models.DateTimeField(null=True, blank=True, help_text="When the agent's leg was asked for.")
    ended_at = models.DateTimeField(null=True, blank=True)
    outcome = models.CharField(max_length=16, choices=Outcome.choices, default=Outcome.PENDING)
    answered_by = models.CharField(max_length=24, blank=True, help_text="Twilio's AnsweredBy.")
    twilio_status = models.CharField(max_length=20, blank=True)
    last_sequence = models.IntegerField(default=-1)
    twilio_sid = models.CharField(max_length=34, blank=True)
    disposition = models.ForeignKey(Disposition, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    amount = models.DecimalField(max_digits=10, decimal_places=2, null=True, blank=True)
    notes = models.TextField(blank=True)
    answers = models.JSONField(default=dict, blank=True, help_text="What the agent captured in the script.")
    detail = models.CharField(max_length=300, blank=True, help_text="What happened, in words.")

    class Meta:
        ordering = ["-started_at"]
        indexes = [
            models.Index(fields=["number", "started_at"], name="call_attempt_number_time"),
            models.Index(fields=["campaign", "started_at"], name="call_attempt_campaign_time"),
            models.Index(fields=["twilio_sid"], name="call_attempt_sid", condition=~Q(twilio_sid="")),
            # Lines in flight per campaign (each tick), and what the sweep settles.
            models.Index(fields=["campaign", "started_at"], name="call_attempt_pending", condition=Q(outcome="pending")),
        ]
        constraints = [
            models.UniqueConstraint(fields=["contact"], condition=Q(outcome="pending"),
                                    name="call_attempt_one_in_flight"),
        ]

    def __str__(self) -> str:
        return f"{self.number} {self.started_at:%Y-%m-%d %H:%M} {self.outcome}"
