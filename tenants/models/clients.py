"""Clients (tenants), their portal hosts and their phone numbers — all in the public schema."""

from __future__ import annotations

import zoneinfo

import phonenumbers
from django.contrib.postgres.fields import ArrayField
from django.core.exceptions import ValidationError
from django.db import models
from django_tenants.models import DomainMixin, TenantMixin

from tenants.phone import PhoneNumberField

LANGUAGES = [("en", "English"), ("es", "Spanish"), ("fr", "French"), ("pt", "Portuguese"), ("zh", "Chinese")]
LANGUAGE_CODES = {code for code, _ in LANGUAGES}


def validate_time_zone(value: str) -> None:
    if value not in zoneinfo.available_timezones():
        raise ValidationError(f"“{value}” is not an IANA time zone (e.g. America/Chicago).", code="time_zone")


def validate_languages(value: list[str]) -> None:
    if not value:
        raise ValidationError("A client offers at least one language.", code="languages")
    unknown = sorted(set(value) - LANGUAGE_CODES)
    if unknown:
        raise ValidationError(
            f"Unknown language code(s) {', '.join(unknown)}; use {', '.join(sorted(LANGUAGE_CODES))}.",
            code="languages",
        )


def default_languages() -> list[str]:
    return ["en"]


class Client(TenantMixin):
    """A business whose phones we answer: one PostgreSQL schema, named by its slug."""

    class Status(models.TextChoices):
        ACTIVE = "active", "Active"
        SUSPENDED = "suspended", "Suspended"

    name = models.CharField(max_length=200)
    time_zone = models.CharField(max_length=64, default="America/New_York", validators=[validate_time_zone])
    languages = ArrayField(
        models.CharField(max_length=8, choices=LANGUAGES),
        default=default_languages,
        validators=[validate_languages],
        help_text="Languages callers are answered in; the first is the default.",
    )
    status = models.CharField(max_length=16, choices=Status.choices, default=Status.ACTIVE)
    created = models.DateTimeField(auto_now_add=True)

    # Provisioning creates the schema itself (tenants.services.client_provision) so that a
    # failure rolls back the row, the schema and the domain together.
    auto_create_schema = False
    auto_drop_schema = False

    class Meta:
        ordering = ["name"]

    def __str__(self) -> str:
        return self.name

    @property
    def slug(self) -> str:
        return self.schema_name

    @property
    def is_active(self) -> bool:
        return self.status == self.Status.ACTIVE

    @property
    def tz(self) -> zoneinfo.ZoneInfo:
        return zoneinfo.ZoneInfo(self.time_zone)


class Domain(DomainMixin):
    """A host name that serves one client's portal (e.g. ``acme.switchboard.example``)."""

    class Meta:
        ordering = ["domain"]

    def __str__(self) -> str:
        return self.domain


class PhoneNumber(models.Model):
    """A Twilio number we own, and the client it belongs to. The dialed number picks the client."""

    class Purpose(models.TextChoices):
        ANSWERING = "answering", "Answering line"
        CALLER_ID = "caller_id", "Outbound caller ID"
        SMS = "sms", "SMS"

    number = PhoneNumberField(unique=True, help_text="E.164, e.g. +12125550101")
    client = models.ForeignKey(Client, on_delete=models.CASCADE, related_name="phone_numbers")
    purpose = models.CharField(max_length=16, choices=Purpose.choices, default=Purpose.ANSWERING)
    label = models.CharField(max_length=100, blank=True)
    twilio_sid = models.CharField("Twilio SID", max_length=34, blank=True)
    twilio_account_sid = models.CharField(
        "Twilio account SID", max_length=34, blank=True,
        help_text="The (sub)account that owns the number; its auth token signs the webhooks.",
    )
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["number"]

    def __str__(self) -> str:
        return self.number

    @property
    def national_format(self) -> str:
        return phonenumbers.format_number(phonenumbers.parse(self.number), phonenumbers.PhoneNumberFormat.NATIONAL)
