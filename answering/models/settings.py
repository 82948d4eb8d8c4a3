"""A client's answering defaults (tenant schema): one row per client, made at provisioning."""

from __future__ import annotations

from django.core.validators import MaxValueValidator, MinValueValidator
from django.db import models


class AnsweringSettings(models.Model):
    """How this client's calls are answered when nothing more specific says otherwise."""

    # One row per schema; the constraint makes a second one impossible, not just unlikely.
    singleton = models.BooleanField(default=True, editable=False, unique=True)
    greeting = models.CharField(
        max_length=300, help_text="What the agent says on connect, e.g. “Thank you for calling Acme, this is Dana.”"
    )
    max_wait_seconds = models.PositiveIntegerField(default=180, help_text="Longest a caller waits before voicemail.")
    wrap_up_seconds = models.PositiveIntegerField(default=30)
    service_level_seconds = models.PositiveIntegerField(default=20, help_text="Answered within this counts toward service level.")
    service_level_target = models.PositiveSmallIntegerField(
        default=80, validators=[MinValueValidator(1), MaxValueValidator(100)],
        help_text="Percent of calls to answer within the threshold; the wallboard turns amber near it, red below.")
    # Reports and the wallboard (reports/figures.py): a caller who hangs up this fast most often
    # misdialled or changed their mind; counting them would punish the service for nothing.
    short_abandon_seconds = models.PositiveIntegerField(
        default=5, help_text="Callers who hang up in the queue before this many seconds are not counted against the "
                             "service (neither offered nor abandoned); 0 counts every one.")
    record_calls = models.BooleanField(default=False, help_text="Record answered calls; callers hear the recording notice first.")
    hold_announcement_seconds = models.PositiveIntegerField(default=30, help_text="How often a queued caller hears position and wait.")

    class SuspendedAction(models.TextChoices):
        VOICEMAIL = "voicemail", "Take a voicemail"
        MESSAGE = "message", "Play the suspended message and hang up"

    suspended_action = models.CharField(max_length=10, choices=SuspendedAction.choices, default=SuspendedAction.VOICEMAIL,
                                        help_text="What callers get while the client is suspended.")
    # Follow-ups (campaigns): a caller who hung up in the queue is called back.
    callback_abandoned = models.BooleanField(
        default=True, help_text="Call back callers who hung up in the queue (through the client's callbacks campaign).")
    callback_abandoned_after_seconds = models.PositiveIntegerField(
        default=10, help_text="Only callers who waited at least this long (a quick hang-up is often a misdial).")
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = verbose_name_plural = "answering settings"
        constraints = [models.CheckConstraint(condition=models.Q(singleton=True), name="answering_settings_singleton")]

    def __str__(self) -> str:
        return "Answering settings"
