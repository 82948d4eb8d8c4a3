"""Answers to POSTs that carried an Idempotency-Key (tenant schema), kept 24 hours."""

from __future__ import annotations

from django.core.serializers.json import DjangoJSONEncoder
from django.db import models


class IdempotentRequest(models.Model):
    """The first request with (key, Idempotency-Key): what it asked (a fingerprint) and what it answered.

    Written in the same transaction as the request's effects (api/idempotency.py), so an
    answer is stored exactly when its effects are, and a concurrent retry waits on this row."""

    api_key_id = models.BigIntegerField(help_text="The ApiKey (public schema) that sent it.")
    key = models.CharField(max_length=255)
    fingerprint = models.CharField(max_length=64, help_text="SHA-256 of method, path and body.")
    status = models.PositiveSmallIntegerField(null=True)
    body = models.JSONField(null=True, encoder=DjangoJSONEncoder)
    content_type = models.CharField(max_length=60, blank=True)
    location = models.CharField(max_length=300, blank=True)
    created = models.DateTimeField(auto_now_add=True, db_index=True)

    class Meta:
        constraints = [models.UniqueConstraint(fields=["api_key_id", "key"], name="idempotent_request_unique")]

    def __str__(self) -> str:
        return f"{self.key} → {self.status}"
