"""Message delivery (tenant schema): rules, escalation policies and the outbox of attempts.

A message is committed first; then ``answering.messages.delivery.message_deliver`` picks the rule
that matches it, and the rule's policy says who gets it by which channel, and how long to
wait for an acknowledgement before the next step. Every attempt is a ``Delivery`` row (the
outbox): a task sends it, and the row — not the broker — is the truth about what was sent.
"""

from __future__ import annotations

import secrets

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import Q

from .messages import Message
from .oncall import Person, Team


class Channel(models.TextChoices):
    EMAIL = "email", "Email"
    SMS = "sms", "Text message"
    CALL = "call", "Voice call-out"
    WEBHOOK = "webhook", "Signed webhook"


class EscalationPolicy(models.Model):
    """Ordered steps — channel, target, wait — run until someone acknowledges."""

    name = models.CharField(max_length=80, unique=True)
    needs_acknowledgement = models.BooleanField(
        default=True, help_text="Keep escalating until someone acknowledges. Off: send each step once, for information.")
    repeat = models.PositiveSmallIntegerField(default=2, help_text="How many times to run the whole chain.")
    alert_supervisors = models.BooleanField(
        default=True, help_text="When the chain ends unacknowledged, alert the answering service's supervisors.")

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "escalation policies"

    def __str__(self) -> str:
        return self.name


class EscalationStep(models.Model):
    class Target(models.TextChoices):
        PERSON = "person", "A person"
        ON_CALL = "on_call", "Whoever is on call for a team"
        TEAM = "team", "Everyone in a team"

    policy = models.ForeignKey(EscalationPolicy, on_delete=models.CASCADE, related_name="steps")
    position = models.PositiveSmallIntegerField()
    channel = models.CharField(max_length=8, choices=Channel.choices)
    target = models.CharField(max_length=8, choices=Target.choices)
    person = models.ForeignKey(Person, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    team = models.ForeignKey(Team, null=True, blank=True, on_delete=models.PROTECT, related_name="+")
    wait_minutes = models.PositiveSmallIntegerField(
        default=0, help_text="Minutes to wait for an acknowledgement before the next step (0: the next step goes at once).")

    class Meta:
        ordering = ["position"]
        constraints = [
            models.UniqueConstraint(fields=["policy", "position"], name="escalation_step_position_unique"),
            models.CheckConstraint(
                condition=(Q(target="person", person__isnull=False, team__isnull=True)
                           | Q(target__in=["on_call", "team"], team__isnull=False, person__isnull=True)),
                name="escalation_step_target_complete"),
        ]

    def clean(self) -> None:
        if self.target == self.Target.PERSON and not self.person_id:
            raise ValidationError({"person": "Choose the person this step reaches."})
        if self.target in (self.Target.ON_CALL, self.Target.TEAM) and not self.team_id:
            raise ValidationError({"team": "Choose the team this step reaches."})

    def __str__(self) -> str:
        whom = self.person if self.target == self.Target.PERSON else self.team
        return f"{self.position}. {self.get_channel_display()} to {self.get_target_display().lower()}: {whom}"


class DeliveryRule(models.Model):
    """Which policy a message follows, by urgency, category and the time it was taken.

    Rules are tried in ``position`` order; the first that matches wins. A message no rule
    matches still reaches the portal, which receives every message.
    """

    class When(models.TextChoices):
        ANY = "any", "Any time"
        OPEN = "open", "During business hours"
        CLOSED = "closed", "After hours"

    position = models.PositiveSmallIntegerField(default=0)
    urgency = models.CharField(max_length=10, blank=True, choices=Message.Urgency.choices,
                               help_text="Blank: any urgency.")
    category = models.CharField(max_length=60, blank=True, help_text="Blank: any category.")
    when = models.CharField(max_length=8, choices=When.choices, default=When.ANY)
    policy = models.ForeignKey(EscalationPolicy, on_delete=models.PROTECT, related_name="rules")

    class Meta:
        ordering = ["position", "pk"]

    def matches(self, *, urgency: str, category: str, open_now: bool) -> bool:
        return ((not self.urgency or self.urgency == urgency)
                and (not self.category or self.category.lower() == (category or "").lower())
                and (self.when == self.When.ANY or (self.when == self.When.OPEN) == open_now))

    def __str__(self) -> str:
        what = " ".join(filter(None, [self.get_urgency_display() if self.urgency else "Any", self.category or ""]))
        return f"{what} messages, {self.get_when_display().lower()} → {self.policy}"


def _webhook_secret() -> str:
    # Only migration 0006 names this (the removed DeliverySettings' default): kept so it still imports.
    return secrets.token_urlsafe(32)


class Delivery(models.Model):
    """One attempt to reach one person by one channel: a row of the outbox.

    Status chain: queued → sending → sent → delivered, or → failed; ``acknowledged`` when
    this attempt is how the message was acknowledged; ``cancelled`` when an acknowledgement
    came before it was sent.
    """

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        SENDING = "sending", "Sending"
        SENT = "sent", "Sent"
        DELIVERED = "delivered", "Delivered"
        FAILED = "failed", "Failed"
        ACKNOWLEDGED = "acknowledged", "Acknowledged"
        CANCELLED = "cancelled", "Cancelled"

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="deliveries")
    step = models.ForeignKey(EscalationStep, null=True, blank=True, on_delete=models.SET_NULL, related_name="+")
    round = models.PositiveSmallIntegerField(default=1, help_text="Which pass through the policy's chain.")
    position = models.PositiveSmallIntegerField(default=1, help_text="The step's position in the chain.")
    channel = models.CharField(max_length=8, choices=Channel.choices)
    person = models.ForeignKey(Person, null=True, on_delete=models.SET_NULL, related_name="deliveries")
    address = models.CharField(max_length=300, help_text="Where it went: email, E.164 number or URL (kept as sent).")
    status = models.CharField(max_length=12, choices=Status.choices, default=Status.QUEUED)
    due_at = models.DateTimeField(help_text="When it may be sent.")
    tries = models.PositiveSmallIntegerField(default=0)
    lease_until = models.DateTimeField(null=True, blank=True, help_text="A worker holds it while sending, until then.")
    provider_sid = models.CharField(max_length=64, blank=True, help_text="Twilio's SID of the text or call.")
    error_code = models.CharField(max_length=16, blank=True)
    error = models.CharField(max_length=300, blank=True)
    created = models.DateTimeField(auto_now_add=True)
    sent_at = models.DateTimeField(null=True, blank=True)
    delivered_at = models.DateTimeField(null=True, blank=True)
    failed_at = models.DateTimeField(null=True, blank=True)
    acknowledged_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["due_at", "pk"]
        verbose_name_plural = "deliveries"
        indexes = [models.Index(fields=["status", "due_at"], name="delivery_status_due")]
        constraints = [
            # One attempt per message, pass, step and person: re-planning a step writes nothing twice.
            models.UniqueConstraint(fields=["message", "round", "position", "channel", "person"],
                                    name="delivery_attempt_unique"),
            models.UniqueConstraint(fields=["provider_sid"], condition=~Q(provider_sid=""),
                                    name="delivery_provider_sid_unique"),
        ]

    def __str__(self) -> str:
        return f"{self.get_channel_display()} to {self.person or self.address} ({self.status})"


class DeliveryEvent(models.Model):
    """The message's timeline: every status an attempt went through, and the acknowledgement."""

    message = models.ForeignKey(Message, on_delete=models.CASCADE, related_name="events")
    delivery = models.ForeignKey(Delivery, null=True, blank=True, on_delete=models.CASCADE, related_name="events")
    at = models.DateTimeField(auto_now_add=True)
    status = models.CharField(max_length=24)
    detail = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["at", "pk"]

    def __str__(self) -> str:
        return f"{self.at:%H:%M:%S} {self.status}"
