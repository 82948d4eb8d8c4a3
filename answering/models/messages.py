"""Messages (tenant schema): what an agent wrote down on a call, for the client."""

from __future__ import annotations

from django.conf import settings
from django.db import models

from .calls import CallRecord
from .scripts import ScriptVersion


class Message(models.Model):
    class Urgency(models.TextChoices):
        NORMAL = "normal", "Normal"
        URGENT = "urgent", "Urgent"

    caller = models.CharField(max_length=32, blank=True, help_text="The number that called (E.164).")
    callback_number = models.CharField(max_length=32, blank=True, help_text="Where to call back (E.164).")
    caller_name = models.CharField(max_length=120, blank=True)
    fields = models.JSONField(default=dict, blank=True, help_text="The captured answers, by field name.")
    urgency = models.CharField(max_length=10, choices=Urgency.choices, default=Urgency.NORMAL)
    category = models.CharField(max_length=60, blank=True)
    end_action = models.CharField(max_length=10, blank=True, help_text="How the script ended: message, dispatch, ...")
    language = models.CharField(max_length=8, default="en")
    script_version = models.ForeignKey(ScriptVersion, null=True, blank=True, on_delete=models.PROTECT,
                                       related_name="messages")
    call_sid = models.CharField(max_length=64, blank=True)
    call = models.ForeignKey(CallRecord, null=True, blank=True, on_delete=models.SET_NULL, related_name="messages")
    # Users live in the public schema and are deleted from there, where this table does not
    # exist: so no constraint and no cascade; the message keeps the id of who took it.
    agent = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.DO_NOTHING,
                              related_name="+", db_constraint=False)
    class Source(models.TextChoices):
        CALL = "call", "Call"
        VOICEMAIL = "voicemail", "Voicemail"

    class Escalation(models.TextChoices):
        NONE = "none", "No escalation"
        ACTIVE = "active", "Escalating"
        ACKNOWLEDGED = "acknowledged", "Acknowledged"
        EXHAUSTED = "exhausted", "Unacknowledged: supervisors alerted"
        DONE = "done", "Delivered"

    source = models.CharField(max_length=10, choices=Source.choices, default=Source.CALL)
    recording_sid = models.CharField(max_length=64, blank=True, help_text="A voicemail's recording.")
    # Delivery and escalation (answering.messages.delivery): which policy, where in its chain, and
    # when the next step is due; the chain's timer is a row in acd.OutboxTimer too.
    policy = models.ForeignKey("answering.EscalationPolicy", null=True, blank=True, on_delete=models.SET_NULL,
                               related_name="+")
    escalation = models.CharField(max_length=12, choices=Escalation.choices, default=Escalation.NONE)
    next_round = models.PositiveSmallIntegerField(default=1)
    next_position = models.PositiveSmallIntegerField(default=1)
    next_step_at = models.DateTimeField(null=True, blank=True, help_text="When the next escalation step is due.")
    short_code = models.CharField(max_length=6, blank=True,
                                  help_text="Quoted in texts (\"OK 4821\") when several messages await an acknowledgement.")
    acknowledged_at = models.DateTimeField(null=True, blank=True)
    acknowledged_by = models.CharField(max_length=160, blank=True)
    acknowledged_via = models.CharField(max_length=10, blank=True, help_text="portal, sms, call, admin or patch")
    filed_at = models.DateTimeField(null=True, blank=True, help_text="Filed away by the client: out of the inbox.")
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created"]
        indexes = [models.Index(fields=["callback_number", "-created"], name="message_callback"),
                   models.Index(fields=["-created"], name="message_created")]
        # One message per call: a retried commit from the console finds the first one.
        constraints = [models.UniqueConstraint(fields=["call_sid"], condition=~models.Q(call_sid=""),
                                               name="message_call_sid_unique")]

    def __str__(self) -> str:
        return f"Message from {self.callback_number or self.caller or 'unknown caller'}"
