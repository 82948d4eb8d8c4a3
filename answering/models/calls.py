"""Call records (tenant schema): what happened on each call, kept after the live session is gone."""

from __future__ import annotations

from django.conf import settings
from django.db import models


class CallRecord(models.Model):
    class Outcome(models.TextChoices):
        IN_PROGRESS = "in_progress", "In progress"
        ANSWERED = "answered", "Answered"
        ABANDONED = "abandoned", "Abandoned"
        VOICEMAIL = "voicemail", "Voicemail"
        TRANSFERRED = "transferred", "Transferred"
        FAILED = "failed", "Failed"
        INFORMATION = "information", "Information only"

    call_sid = models.CharField(max_length=64, unique=True)
    caller = models.CharField(max_length=32, blank=True)
    number_dialed = models.CharField(max_length=32)
    language = models.CharField(max_length=8, default="en")
    menu_choice = models.CharField(max_length=40, blank=True)
    priority = models.SmallIntegerField(default=0)
    arrived_at = models.DateTimeField()
    queued_at = models.DateTimeField(null=True, blank=True)
    offered_at = models.DateTimeField(null=True, blank=True)
    answered_at = models.DateTimeField(null=True, blank=True)
    ended_at = models.DateTimeField(null=True, blank=True)
    wait_seconds = models.PositiveIntegerField(null=True, blank=True)
    talk_seconds = models.PositiveIntegerField(null=True, blank=True)
    wrap_up_seconds = models.PositiveIntegerField(null=True, blank=True)
    # Seconds the caller spent on hold within ``talk_seconds`` (which runs answered → ended):
    # billing plans may count hold time or not (billing/, docs/billing.md).
    hold_seconds = models.PositiveIntegerField(null=True, blank=True)
    # Users live in the public schema and are deleted from there, where this table does not
    # exist: so no constraint and no cascade; the record keeps the id of who answered.
    agent = models.ForeignKey(settings.AUTH_USER_MODEL, null=True, blank=True, on_delete=models.DO_NOTHING,
                              related_name="+", db_constraint=False)
    outcome = models.CharField(max_length=12, choices=Outcome.choices, default=Outcome.IN_PROGRESS)
    recording_sid = models.CharField(max_length=64, blank=True)
    recording_url = models.URLField(blank=True)
    recording_duration = models.PositiveIntegerField(null=True, blank=True)
    disposition = models.CharField(max_length=40, blank=True, help_text="The agent's word on how the call ended.")
    caller_hung_up = models.BooleanField(default=False, help_text="The caller hung up before the agent finished.")
    # The agent's answers so far, saved as they type ({"step", "trail", "answers"}): a reload
    # or a second console resumes them. Client data, so here and not in the live session.
    draft = models.JSONField(default=dict, blank=True)

    class Meta:
        ordering = ["-arrived_at"]
        indexes = [models.Index(fields=["caller", "-arrived_at"], name="callrecord_caller")]

    def __str__(self) -> str:
        return f"{self.caller} → {self.number_dialed} ({self.outcome})"


class VoicemailMessage(models.Model):
    """A message left by a caller (voicemail). The message-taking issue widens this."""

    call = models.ForeignKey(CallRecord, null=True, blank=True, on_delete=models.SET_NULL, related_name="voicemails")
    call_sid = models.CharField(max_length=64, unique=True)
    caller = models.CharField(max_length=32, blank=True)
    recording_sid = models.CharField(max_length=64, blank=True)
    recording_url = models.URLField(blank=True)
    duration = models.PositiveIntegerField(null=True, blank=True)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created"]

    def __str__(self) -> str:
        return f"Voicemail from {self.caller}"


class InboundSMS(models.Model):
    """A text received on one of the client's numbers."""

    message_sid = models.CharField(max_length=64, unique=True)
    from_number = models.CharField(max_length=32)
    to_number = models.CharField(max_length=32)
    body = models.TextField(blank=True)
    num_media = models.PositiveSmallIntegerField(default=0)
    received = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-received"]
        verbose_name = verbose_name_plural = "inbound SMS"

    def __str__(self) -> str:
        return f"SMS from {self.from_number}"
