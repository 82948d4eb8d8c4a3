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
    created = models.DateTimeField(auto_now_add=True)
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        ordering = ["-created"]
        indexes = [models.Index(fields=["callback_number", "-created"], name="message_callback")]
        # One message per call: a retried commit from the console finds the first one.
        constraints = [models.UniqueConstraint(fields=["call_sid"], condition=~models.Q(call_sid=""),
                                               name="message_call_sid_unique")]

    def __str__(self) -> str:
        return f"Message from {self.callback_number or self.caller or 'unknown caller'}"
