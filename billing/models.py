"""Statements (tenant schema): a period's bill, every item traced to what it bills.

A statement is built (``billing.services.statement_build``) as a draft, rebuilt as often as
needed, and issued once: an issued statement is never rebuilt. Items name their source —
the call record (``call`` and its ``reference``, the CallSid), the message, the text or the
outbound attempt — so a client can reconcile every cent with its call log.
"""

from __future__ import annotations

from decimal import Decimal

from django.db import models


class Statement(models.Model):
    class Status(models.TextChoices):
        DRAFT = "draft", "Draft (rebuilt until issued)"
        ISSUED = "issued", "Issued"

    period = models.CharField(max_length=7, unique=True, help_text="YYYY-MM in the client's time zone.")
    starts_at = models.DateTimeField(help_text="The period's first instant (local midnight on the 1st, in UTC).")
    ends_at = models.DateTimeField(help_text="The next period's first instant: the period is [starts_at, ends_at).")
    time_zone = models.CharField(max_length=64)
    status = models.CharField(max_length=8, choices=Status.choices, default=Status.DRAFT)
    plan = models.JSONField(default=dict, help_text="The plan's rules as this statement applied them.")
    currency = models.CharField(max_length=3, default="USD")
    total = models.DecimalField(max_digits=12, decimal_places=2, default=Decimal("0"))
    item_count = models.PositiveIntegerField(default=0)
    # Sums by kind, for the page's summary: {"agent": {"items", "billed_seconds", "amount"}, ...}.
    summary = models.JSONField(default=dict, blank=True)
    built_at = models.DateTimeField()
    issued_at = models.DateTimeField(null=True, blank=True)

    class Meta:
        ordering = ["-starts_at"]

    def __str__(self) -> str:
        return f"Statement {self.period} ({self.status})"

    @property
    def is_draft(self) -> bool:
        return self.status == self.Status.DRAFT


class StatementItem(models.Model):
    class Kind(models.TextChoices):
        AGENT = "agent", "Agent time"
        IVR = "ivr", "Automated menu time"
        MESSAGE = "message", "Message"
        DISPATCH = "dispatch", "Dispatch"
        TEXT = "text", "Text sent"
        ATTEMPT = "attempt", "Outbound attempt"
        FEE = "fee", "Base fee"

    # No database constraints on the two keys, decided (docs/billing.md): a build from nothing
    # writes a row per call (100,000 a month for a big client, 2 million in a billing run) and
    # PostgreSQL checks a foreign key row by row at commit, 3–5 s a big month. The builder writes
    # items only from rows it reads in the same transaction, and PROTECT / CASCADE hold in the
    # ORM (a call an item names is not deleted: tests/billing/test_rebuild.py).
    statement = models.ForeignKey(Statement, on_delete=models.CASCADE, related_name="items", db_constraint=False,
                                  db_index=False)  # the index below leads with it
    kind = models.CharField(max_length=8, choices=Kind.choices)
    # The call it bills (agent and IVR time; a message's or text's call when it had one). The
    # record is kept while a statement names it: a bill must stay traceable.
    call = models.ForeignKey("answering.CallRecord", null=True, blank=True, on_delete=models.PROTECT, related_name="+",
                             db_constraint=False)
    source_id = models.BigIntegerField(null=True, blank=True,
                                       help_text="The message's, delivery's, notice's or attempt's id.")
    reference = models.CharField(max_length=64, blank=True, help_text="The CallSid, or the text's or attempt's SID.")
    occurred_at = models.DateTimeField()
    description = models.CharField(max_length=300, blank=True)
    measured_seconds = models.PositiveIntegerField(null=True, blank=True, help_text="What the records hold, as counted.")
    billed_seconds = models.PositiveIntegerField(null=True, blank=True, help_text="After free calls and rounding.")
    included_seconds = models.PositiveIntegerField(null=True, blank=True, help_text="Of those, covered by included minutes.")
    amount = models.DecimalField(max_digits=12, decimal_places=2)
    # The call record's times as this agent item counted them (talk net of hold, hold, wrap-up).
    # A rebuild compares them with the record to find the first call that changed, and rewrites
    # the draft only from there on (billing/services.py).
    talk_seconds = models.PositiveIntegerField(null=True, blank=True)
    hold_seconds = models.PositiveIntegerField(null=True, blank=True)
    wrap_up_seconds = models.PositiveIntegerField(null=True, blank=True)

    class Meta:
        ordering = ["occurred_at", "id"]
        indexes = [models.Index(fields=["statement", "kind", "occurred_at"], name="billing_item_statement"),
                   # A statement's pages in order (the portal's "Everything"), without sorting the month.
                   models.Index(fields=["statement", "occurred_at", "id"], name="billing_item_order")]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} {self.reference or self.source_id}: {self.amount}"
