"""API keys (public schema): per client, but looked up by their prefix before anything else,
and listed and revoked by platform admins across clients."""

from __future__ import annotations

from django.contrib.postgres.fields import ArrayField
from django.db import models
from django.utils import timezone


class Scope(models.TextChoices):
    """What a key may do: read or write, per group of operations. Groups that land later add theirs here."""

    MESSAGES_READ = "messages:read", "Messages: read"
    MESSAGES_WRITE = "messages:write", "Messages: acknowledge"
    CALLS_READ = "calls:read", "Calls: read"
    RECORDINGS_READ = "recordings:read", "Recordings: listen (calls' recording links)"
    COMPLIANCE_READ = "compliance:read", "Do not call and consent: read, check a number"
    COMPLIANCE_WRITE = "compliance:write", "Do not call and consent: add, remove"
    ONCALL_READ = "oncall:read", "On call: read"
    ONCALL_WRITE = "oncall:write", "On call: overrides"
    APPOINTMENTS_READ = "appointments:read", "Appointments: calendars, types, free slots, history"
    APPOINTMENTS_WRITE = "appointments:write", "Appointments: book, reschedule, cancel"
    WEBHOOKS_READ = "webhooks:read", "Webhook endpoints: read, delivery logs"
    WEBHOOKS_WRITE = "webhooks:write", "Webhook endpoints: add, change, rotate secrets, send again"
    CONTACTS_READ = "contacts:read", "Contacts and lists: read, imports' progress"
    CONTACTS_WRITE = "contacts:write", "Contacts and lists: create lists, import"
    CAMPAIGNS_READ = "campaigns:read", "Campaigns: read, results"
    CAMPAIGNS_WRITE = "campaigns:write", "Campaigns: create, start, pause"


class ApiKey(models.Model):
    """One client's key. The secret is kept only as its SHA-256; the prefix stays visible."""

    client = models.ForeignKey("tenants.Client", on_delete=models.CASCADE, related_name="api_keys")
    name = models.CharField(max_length=80, help_text="What uses it, e.g. “Practice software”.")
    prefix = models.CharField(max_length=12, unique=True, help_text="The visible start of the key, after sb_.")
    secret_hash = models.CharField(max_length=64, help_text="SHA-256 (hex) of the whole key.")
    scopes = ArrayField(models.CharField(max_length=40), default=list, blank=True)
    expires_at = models.DateTimeField(null=True, blank=True, help_text="Empty: never.")
    last_used_at = models.DateTimeField(null=True, blank=True, help_text="Updated at most once a minute.")
    revoked_at = models.DateTimeField(null=True, blank=True)
    revoked_by = models.CharField(max_length=200, blank=True)
    created_by = models.CharField(max_length=200, blank=True)
    created = models.DateTimeField(auto_now_add=True)

    class Meta:
        ordering = ["-created"]
        verbose_name = "API key"

    def __str__(self) -> str:
        return f"sb_{self.prefix}… ({self.name})"

    @property
    def display(self) -> str:
        return f"sb_{self.prefix}…"

    def is_expired(self, now=None) -> bool:
        return self.expires_at is not None and self.expires_at <= (now or timezone.now())

    @property
    def is_usable(self) -> bool:
        return self.revoked_at is None and not self.is_expired()
