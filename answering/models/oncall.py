"""On-call schedules (tenant schema): the client's people, teams, rotations and overrides.

Who is on call is computed, never stored: ``answering.oncall.selectors.on_call_at`` reads these rows
for an instant. Hand-overs happen at a wall-clock time in the client's time zone, so they
stay at 08:00 local across daylight-saving changes.
"""

from __future__ import annotations

from django.core.exceptions import ValidationError
from django.db import models
from django.db.models import F, Q

from switchboard.outbound import UrlRefused, url_check
from tenants.phone import PhoneNumberField


class Person(models.Model):
    """Someone at the client who receives messages: contact points per channel."""

    name = models.CharField(max_length=120)
    email = models.EmailField(blank=True)
    mobile = PhoneNumberField(blank=True, help_text="For SMS.")
    phone = PhoneNumberField(blank=True, help_text="For voice call-outs.")
    webhook_url = models.URLField(blank=True, help_text="Their system, for signed webhooks.")
    active = models.BooleanField(default=True)

    class Meta:
        ordering = ["name"]
        verbose_name_plural = "people"

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        # The same rule as event webhooks' endpoints (a rules' webhook step becomes one): refused
        # when saved, with a sentence on the field, not only when the first message is sent.
        if self.webhook_url:
            try:
                self.webhook_url = url_check(self.webhook_url)
            except UrlRefused as refused:
                raise ValidationError({"webhook_url": str(refused)}) from refused


class Team(models.Model):
    """People who share being on call (e.g. "Technicians", "Nurses")."""

    name = models.CharField(max_length=80, unique=True)

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name


class Rotation(models.Model):
    """A team's rota: members take turns, handing over daily or weekly at a local time."""

    class Period(models.TextChoices):
        DAILY = "daily", "Daily"
        WEEKLY = "weekly", "Weekly"

    team = models.OneToOneField(Team, on_delete=models.CASCADE, related_name="rotation")
    period = models.CharField(max_length=8, choices=Period.choices, default=Period.WEEKLY)
    handover_time = models.TimeField(help_text="Local time of the hand-over, in the client's time zone.")
    starts_on = models.DateField(help_text="The first member's first day (for weekly rotas, also the hand-over weekday).")

    def __str__(self) -> str:
        return f"{self.team} ({self.get_period_display().lower()} at {self.handover_time:%H:%M})"


class RotationMember(models.Model):
    rotation = models.ForeignKey(Rotation, on_delete=models.CASCADE, related_name="members")
    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="+")
    position = models.PositiveSmallIntegerField()

    class Meta:
        ordering = ["position"]
        constraints = [models.UniqueConstraint(fields=["rotation", "position"], name="rotation_member_position_unique")]


class Override(models.Model):
    """Someone covers a team for a span of time, whatever the rota says."""

    team = models.ForeignKey(Team, on_delete=models.CASCADE, related_name="overrides")
    person = models.ForeignKey(Person, on_delete=models.PROTECT, related_name="+")
    starts = models.DateTimeField()
    ends = models.DateTimeField()
    created = models.DateTimeField(auto_now_add=True)
    note = models.CharField(max_length=200, blank=True)

    class Meta:
        ordering = ["starts"]
        constraints = [models.CheckConstraint(condition=Q(ends__gt=F("starts")), name="override_ends_after_starts")]

    def clean(self) -> None:
        if self.starts and self.ends and self.ends <= self.starts:
            raise ValidationError({"ends": "An override ends after it starts."})
