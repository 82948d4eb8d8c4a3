"""Billing plans and runs (public schema): what the platform admins set and start.

A plan is shared by any number of clients (``PlanAssignment``: one plan per client); a
statement (in the client's schema) keeps a snapshot of the rules it was built with
(``BillingPlan.rules``), so editing a plan never changes a statement already issued.
"""

from __future__ import annotations

from decimal import Decimal

from django.core.exceptions import ValidationError
from django.core.validators import MinValueValidator
from django.db import models


def _money(**kwargs) -> models.DecimalField:
    # Rates to a hundredth of a cent (0.0150 a second is common); amounts are rounded once per item.
    return models.DecimalField(max_digits=10, decimal_places=4, default=Decimal("0"),
                               validators=[MinValueValidator(Decimal("0"))], **kwargs)


class BillingPlan(models.Model):
    """How a client's usage is priced. The rules run in the order docs/billing.md lists."""

    class Increment(models.IntegerChoices):
        SECOND = 1, "Per second"
        SIX = 6, "6 seconds"
        THIRTY = 30, "30 seconds"
        MINUTE = 60, "Whole minutes"

    name = models.CharField(max_length=100, unique=True)
    currency = models.CharField(max_length=3, default="USD")
    # What counts as agent time. Talk runs answered → ended and includes hold.
    count_talk = models.BooleanField(default=True, help_text="Talk time, hold excluded.")
    count_hold = models.BooleanField(default=True, help_text="Time the caller spent on hold.")
    count_wrap_up = models.BooleanField(default=True, help_text="The agent's wrap-up after the call.")
    increment_seconds = models.PositiveSmallIntegerField(
        choices=Increment.choices, default=Increment.MINUTE,
        help_text="Each call's counted time is rounded up to this (IVR time too).")
    minimum_seconds = models.PositiveIntegerField(default=0, help_text="A billed call is at least this long.")
    per_call_seconds = models.PositiveIntegerField(
        default=0, help_text="Added to every billed call after rounding (e.g. 60: one wrap-up minute per call).")
    free_short_calls = models.PositiveIntegerField(
        default=0, help_text="The first this many calls of the period shorter than the next field are free.")
    short_call_seconds = models.PositiveIntegerField(default=0, help_text="What counts as a short call, in seconds.")
    included_minutes = models.PositiveIntegerField(default=0, help_text="Agent minutes the base fee covers.")
    minute_rate = _money(help_text="Per agent minute beyond the included ones (until the first tier).")
    ivr_minute_rate = _money(help_text="Per minute callers spend in the automated menu (arrival → queue). 0: not billed.")
    message_fee = _money(help_text="Per message taken (voicemails too).")
    dispatch_fee = _money(help_text="Per dispatch (a message whose script ended in a dispatch).")
    text_fee = _money(help_text="Per text sent (message deliveries and appointment notices).")
    attempt_fee = _money(help_text="Per outbound call attempt placed.")
    base_fee = _money(help_text="Per period, whatever the usage.")

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    def clean(self) -> None:
        if bool(self.free_short_calls) != bool(self.short_call_seconds):
            raise ValidationError({"short_call_seconds": "Free short calls need both a count and a length "
                                                         "(e.g. the first 30 calls under 30 s); set both or neither."})

    def rules(self) -> dict:
        """The plan as a statement applies it (and keeps it): plain JSON, money as strings."""
        return {
            "name": self.name, "currency": self.currency,
            "count_talk": self.count_talk, "count_hold": self.count_hold, "count_wrap_up": self.count_wrap_up,
            "increment_seconds": self.increment_seconds, "minimum_seconds": self.minimum_seconds,
            "per_call_seconds": self.per_call_seconds, "free_short_calls": self.free_short_calls,
            "short_call_seconds": self.short_call_seconds, "included_minutes": self.included_minutes,
            "minute_rate": str(self.minute_rate),
            "tiers": [{"above_minutes": t.above_minutes, "minute_rate": str(t.minute_rate)}
                      for t in self.tiers.order_by("above_minutes")] if self.pk else [],
            **{name: str(getattr(self, name))
               for name in ("ivr_minute_rate", "message_fee", "dispatch_fee", "text_fee", "attempt_fee", "base_fee")},
        }


class PlanTier(models.Model):
    """From ``above_minutes`` agent minutes in the period on, each minute costs ``minute_rate``."""

    plan = models.ForeignKey(BillingPlan, on_delete=models.CASCADE, related_name="tiers")
    above_minutes = models.PositiveIntegerField(help_text="Counted from the period's first minute, included ones too.")
    minute_rate = _money()

    class Meta:
        ordering = ["above_minutes"]
        constraints = [models.UniqueConstraint(fields=["plan", "above_minutes"], name="billing_tier_unique")]

    def __str__(self) -> str:
        return f"above {self.above_minutes} min: {self.minute_rate}/min"

    def clean(self) -> None:
        if self.plan_id and self.above_minutes <= self.plan.included_minutes:
            raise ValidationError({"above_minutes": f"A tier starts above the {self.plan.included_minutes} included "
                                                    "minutes; the plan's minute rate covers the minutes before it."})


class PlanAssignment(models.Model):
    """Which plan a client is billed on."""

    client = models.OneToOneField("tenants.Client", on_delete=models.CASCADE, related_name="billing_plan")
    plan = models.ForeignKey(BillingPlan, on_delete=models.PROTECT, related_name="assignments")

    def __str__(self) -> str:
        return f"{self.client} on {self.plan}"


class BillingRun(models.Model):
    """A platform admin's run over every client (or some) for one period, with its progress."""

    class Status(models.TextChoices):
        QUEUED = "queued", "Queued"
        RUNNING = "running", "Running"
        DONE = "done", "Done"
        FAILED = "failed", "Failed"

    period = models.CharField(max_length=7, help_text="YYYY-MM, a month in each client's own time zone.")
    clients = models.ManyToManyField("tenants.Client", blank=True, related_name="+",
                                     help_text="None: every active client with a plan.")
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.QUEUED)
    total = models.PositiveIntegerField(default=0)
    done = models.PositiveIntegerField(default=0)
    # One entry per client: {"client", "name", "statement", "status", "total", "items", "error"}.
    results = models.JSONField(default=list, blank=True)
    started_by = models.CharField(max_length=200, blank=True)
    created = models.DateTimeField(auto_now_add=True)
    started_at = models.DateTimeField(null=True, blank=True)
    finished_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-created"]

    def __str__(self) -> str:
        return f"Billing run {self.period} ({self.status})"

    @property
    def is_finished(self) -> bool:
        return self.status in (self.Status.DONE, self.Status.FAILED)
