"""Event webhooks (tenant schema): where a client wants its events, the events, and the
deliveries — one row per (event, endpoint), the outbox its sender works from."""

from __future__ import annotations

import base64
import secrets
import uuid

from django.db import models
from django.db.models import Q

SECRET_PREFIX = "whsec_"


def secret_new() -> str:
    """A Standard Webhooks secret: ``whsec_`` and the base64 of 32 random bytes."""
    return SECRET_PREFIX + base64.b64encode(secrets.token_bytes(32)).decode()


def event_id_new() -> str:
    return f"msg_{uuid.uuid4().hex}"


class EventType(models.TextChoices):
    MESSAGE_CREATED = "message.created", "A message was taken"
    MESSAGE_ACKNOWLEDGED = "message.acknowledged", "A message was acknowledged"
    CALL_COMPLETED = "call.completed", "A call ended"
    APPOINTMENT_BOOKED = "appointment.booked", "An appointment was booked"
    APPOINTMENT_RESCHEDULED = "appointment.rescheduled", "An appointment was rescheduled"
    APPOINTMENT_CANCELLED = "appointment.cancelled", "An appointment was cancelled"
    CONTACT_OPTED_OUT = "contact.opted_out", "A number opted out"
    CAMPAIGN_COMPLETED = "campaign.completed", "A campaign completed or was stopped"


class WebhookEndpoint(models.Model):
    """A URL of the client's own systems that gets its events, signed with its own secret."""

    url = models.URLField(max_length=500)
    description = models.CharField(max_length=200, blank=True)
    event_types = models.JSONField(default=list, blank=True, help_text="The events it gets; empty: every event.")
    rules_only = models.BooleanField(
        default=False, help_text="Made for a delivery rule's webhook step: gets only the messages the rules send it.")
    secret = models.CharField(max_length=80, default=secret_new)
    # During a rotation both secrets sign every request, so receivers can switch at their pace.
    previous_secret = models.CharField(max_length=80, blank=True)
    previous_secret_until = models.DateTimeField(null=True, blank=True)
    active = models.BooleanField(default=True)
    disabled_reason = models.CharField(max_length=300, blank=True)
    disabled_at = models.DateTimeField(null=True, blank=True)
    failing_since = models.DateTimeField(null=True, blank=True, help_text="First failure since the last success.")
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["created", "pk"]

    def __str__(self) -> str:
        return self.description or self.url

    def wants(self, event_type: str) -> bool:
        return not self.event_types or event_type in self.event_types


class WebhookMessage(models.Model):
    """One event, as every endpoint gets it: the same ``event_id`` (the ``webhook-id``) everywhere
    and on every retry, so receivers drop repeats."""

    event_id = models.CharField(max_length=40, unique=True, default=event_id_new)
    type = models.CharField(max_length=40, choices=EventType.choices)
    # What it is about ("message:12", "appointment:3"): the rules' webhook step finds its event by it.
    subject = models.CharField(max_length=60, blank=True, db_index=True)
    payload = models.JSONField(default=dict)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created", "-pk"]

    def __str__(self) -> str:
        return f"{self.type} {self.event_id}"


class WebhookDelivery(models.Model):
    """One event to one endpoint: queued → sending → succeeded, or → queued again (a retry),
    or → failed; cancelled when its endpoint was disabled first."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        SENDING = "sending", "Sending"
        SUCCEEDED = "succeeded", "Succeeded"
        FAILED = "failed", "Failed"
        CANCELLED = "cancelled", "Cancelled"

    FINAL = (Status.SUCCEEDED, Status.FAILED, Status.CANCELLED)

    message = models.ForeignKey(WebhookMessage, on_delete=models.CASCADE, related_name="deliveries")
    endpoint = models.ForeignKey(WebhookEndpoint, on_delete=models.CASCADE, related_name="deliveries")
    status = models.CharField(max_length=10, choices=Status.choices, default=Status.QUEUED)
    tries = models.PositiveSmallIntegerField(default=0)
    next_at = models.DateTimeField(help_text="When the next try is due.")
    lease_until = models.DateTimeField(null=True, blank=True)
    last_status_code = models.PositiveSmallIntegerField(null=True, blank=True)
    last_error = models.CharField(max_length=300, blank=True)
    last_response = models.CharField(max_length=500, blank=True, help_text="The start of the last answer's body.")
    sent_at = models.DateTimeField(null=True, blank=True, help_text="When it succeeded.")
    # The message delivery (answering.Delivery, a rules' webhook step) this carries, whose
    # status and timeline follow this row's.
    source_delivery_id = models.BigIntegerField(null=True, blank=True)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created", "-pk"]
        constraints = [models.UniqueConstraint(fields=["message", "endpoint"], name="webhook_delivery_once")]
        indexes = [models.Index(fields=["endpoint", "-created"], name="webhook_delivery_log"),
                   # OR, not IN: PostgreSQL prints an IN list back in a form that re-reads as
                   # another expression, and a client's schema is cloned from the printed form.
                   models.Index(fields=["endpoint"], condition=Q(status="queued") | Q(status="sending"),
                                name="webhook_delivery_pending")]

    def __str__(self) -> str:
        return f"{self.message} → {self.endpoint} ({self.status})"
