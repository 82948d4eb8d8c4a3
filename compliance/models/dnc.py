"""A client's internal do-not-call list (tenant schema): every opt-out lands here."""

from __future__ import annotations

from django.db import models

from compliance.rules import OptOutSource
from tenants.phone import PhoneNumberField


class DncEntry(models.Model):
    """“Don't contact me” said to this client, by any path. Blocks every purpose, channel and
    campaign of the client (staff messages: texts only) and overrides any consent or EBR.

    Never deleted (kept 5 years, 47 CFR 64.1200(d)(6)): removing an entry stamps
    ``removed_at``; a number has at most one active entry (the database says so).
    """

    number = PhoneNumberField()
    source = models.CharField(max_length=20, choices=OptOutSource.choices)
    reason = models.CharField(max_length=300, blank=True, help_text="Why, in the person's words when we have them.")
    added_by = models.CharField(max_length=200, help_text="Who or what recorded it (user, agent, webhook).")
    created = models.DateTimeField(auto_now_add=True)
    removed_at = models.DateTimeField(null=True, blank=True)
    removed_by = models.CharField(max_length=200, blank=True)
    removed_reason = models.CharField(max_length=300, blank=True)

    class Meta:
        ordering = ["-created"]
        verbose_name = "DNC entry"
        verbose_name_plural = "DNC list"
        constraints = [
            models.UniqueConstraint(fields=["number"], condition=models.Q(removed_at__isnull=True),
                                    name="dnc_entry_one_active_per_number"),
        ]
        indexes = [models.Index(fields=["number"], name="dnc_entry_number")]

    def __str__(self) -> str:
        return self.number

    @property
    def is_active(self) -> bool:
        return self.removed_at is None
