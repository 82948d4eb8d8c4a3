"""A client's own compliance settings (tenant schema): stricter than the law, never looser."""

from __future__ import annotations

import datetime as dt

from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models

MIN_RETENTION_YEARS = 5  # TSR 2024 amendments: call records; 47 CFR 64.1200(d)(6): DNC requests


class RecordingPolicy(models.TextChoices):
    INHERIT = "inherit", "As the level above decides"
    ANNOUNCE = "announce", "Always announce recording"
    ONE_PARTY_SILENT = "one_party_silent", "Don't announce when every party is in a one-party-consent state"


class ComplianceSettings(models.Model):
    """One row per client, created when first saved; absent means the law's defaults."""

    singleton = models.BooleanField(default=True, editable=False, unique=True)
    window_start = models.TimeField(
        null=True, blank=True, help_text="The client's own earliest call time (called party's local time)."
    )
    window_end = models.TimeField(null=True, blank=True, help_text="The client's own latest call time (exclusive).")
    max_attempts_per_24h = models.PositiveSmallIntegerField(
        null=True, blank=True, help_text="The client's cap on attempts to one number in 24 hours, all campaigns."
    )
    recording_policy = models.CharField(max_length=20, choices=RecordingPolicy.choices, default=RecordingPolicy.INHERIT)
    retention_years = models.PositiveSmallIntegerField(
        default=MIN_RETENTION_YEARS, validators=[MinValueValidator(MIN_RETENTION_YEARS)],
        help_text="How long the ledger and call records are kept; never less than 5 years.",
    )
    updated = models.DateTimeField(auto_now=True)

    class Meta:
        verbose_name = verbose_name_plural = "compliance settings"
        constraints = [
            models.CheckConstraint(condition=models.Q(singleton=True), name="compliance_settings_singleton"),
            models.CheckConstraint(condition=models.Q(retention_years__gte=MIN_RETENTION_YEARS),
                                   name="compliance_settings_retention_5y"),
        ]

    def __str__(self) -> str:
        return "Compliance settings"

    def clean(self) -> None:
        if (self.window_start is None) != (self.window_end is None):
            raise ValidationError("Give both ends of the calling window, or neither.")
        if self.window_start and self.window_start >= self.window_end:
            raise ValidationError("The calling window must start before it ends.")

    @property
    def window(self) -> tuple[dt.time, dt.time] | None:
        return (self.window_start, self.window_end) if self.window_start and self.window_end else None
