"""The audit ledger (tenant schema): append-only, enforced by the database.

Every gate decision and every opt-out / opt-in / consent event is one row. A trigger
(migration 0002) refuses UPDATE, DELETE and TRUNCATE, so not even a bug or a hurried
admin can rewrite history. Rows are kept at least 5 years (the client's retention
setting, never lower); purging older rows is a DBA task that lifts the trigger on purpose.
"""

from __future__ import annotations

from django.db import models

from compliance.rules import Channel, Purpose


class LedgerEntry(models.Model):
    class Event(models.TextChoices):
        DECISION = "decision", "Gate decision"
        SCRUB = "scrub", "List scrub"
        OPT_OUT = "opt_out", "Opt-out recorded"
        OPT_IN = "opt_in", "Opt-in (re-subscribed)"
        OPT_IN_REFUSED = "opt_in_refused", "Re-subscribe refused"
        DNC_REMOVED = "dnc_removed", "DNC entry removed"
        CONSENT = "consent", "Consent recorded"
        OPT_OUT_REVIEW = "opt_out_review", "Possible opt-out, for a person to read"

    class Outcome(models.TextChoices):
        ALLOW = "allow", "Allow"
        DENY = "deny", "Deny"

    created = models.DateTimeField(auto_now_add=True, db_index=True)
    at = models.DateTimeField(help_text="The instant the decision was about.")
    event = models.CharField(max_length=16, choices=Event.choices, default=Event.DECISION)
    number = models.CharField(max_length=32, blank=True, db_index=True, help_text="E.164, or what was given if invalid.")
    purpose = models.CharField(max_length=20, choices=Purpose.choices, blank=True)
    channel = models.CharField(max_length=12, choices=Channel.choices, blank=True)
    outcome = models.CharField(max_length=5, choices=Outcome.choices, blank=True)
    reasons = models.JSONField(default=list, help_text="Every reason: [{code, text, deny}].")
    rule_versions = models.JSONField(default=dict)
    asked_by = models.CharField(max_length=200, help_text="Who or what asked: a user, the dialer, a webhook.")
    campaign = models.ForeignKey("campaigns.Campaign", null=True, blank=True, on_delete=models.PROTECT,
                                 related_name="+", help_text="A campaign with a history cannot be deleted.")
    detail = models.TextField(blank=True)

    class Meta:
        ordering = ["-created", "-id"]
        verbose_name = "ledger entry"
        verbose_name_plural = "audit ledger"

    def __str__(self) -> str:
        return f"{self.created:%Y-%m-%d %H:%M:%S} {self.get_event_display()} {self.number} {self.outcome}"

    @property
    def reason_text(self) -> str:
        return "; ".join(r["text"] for r in self.reasons if r.get("deny")) or "; ".join(r["text"] for r in self.reasons)
