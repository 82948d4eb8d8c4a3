"""Consent records and established business relationships (tenant schema)."""

from __future__ import annotations

from django.db import models

from tenants.phone import PhoneNumberField


class Consent(models.Model):
    """Permission to contact a number: what kind, how we got it, the proof, and when it ends.

    Established business relationships are consents of their own kinds: their windows
    (18 months after a purchase, delivery or payment; 3 months after an inquiry — 47 CFR
    64.1200(f)(5)) are computed by the gate from ``obtained_at``. An opt-out revokes them all.
    """

    class Kind(models.TextChoices):
        EXPRESS = "express", "Prior express consent (informational robocalls and texts)"
        EXPRESS_WRITTEN = "express_written", "Prior express written consent (telemarketing robocalls and texts)"
        EBR_TRANSACTION = "ebr_transaction", "Established business relationship: purchase, delivery or payment"
        EBR_INQUIRY = "ebr_inquiry", "Established business relationship: inquiry or application"

    class Source(models.TextChoices):
        WEB_FORM = "web_form", "Web form"
        CALL = "call", "Phone call"
        SMS = "sms", "Text message"
        PAPER = "paper", "Paper"
        IMPORT = "import", "Imported"
        OTHER = "other", "Other"

    number = PhoneNumberField(db_index=True)
    kind = models.CharField(max_length=20, choices=Kind.choices)
    source = models.CharField(max_length=10, choices=Source.choices)
    evidence = models.TextField(blank=True, help_text="The wording agreed to, a URL, a recording reference…")
    obtained_at = models.DateTimeField(help_text="When consent was given, or the transaction / inquiry happened.")
    expires_at = models.DateTimeField(null=True, blank=True)
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_reason = models.CharField(max_length=300, blank=True)
    recorded_by = models.CharField(max_length=200, blank=True)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-obtained_at"]

    def __str__(self) -> str:
        return f"{self.get_kind_display()} for {self.number}"
