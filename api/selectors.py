"""Reads about API keys."""

from __future__ import annotations

import hmac

from django.db.models import F, QuerySet

from api.models import ApiKey
from api.services.keys import KEY_PREFIX, PREFIX_LENGTH, key_hash
from tenants.models import Client


def api_key_for_plain(plain: str) -> ApiKey | None:
    """The key whose plain text is ``plain`` (found by its prefix, its hash compared in constant
    time), revoked and expired ones included: the caller says why they are refused. None if no key matches."""
    if not plain.startswith(KEY_PREFIX) or len(plain) < len(KEY_PREFIX) + PREFIX_LENGTH + 1:
        return None
    prefix = plain[len(KEY_PREFIX):len(KEY_PREFIX) + PREFIX_LENGTH]
    key = ApiKey.objects.filter(prefix=prefix).first()
    if key is None or not hmac.compare_digest(key.secret_hash, key_hash(plain)):
        return None
    return key


def api_keys_of(client: Client) -> QuerySet[ApiKey]:
    """A client's keys, newest first, revoked ones last."""
    return ApiKey.objects.filter(client=client).order_by(F("revoked_at").asc(nulls_first=True), "-created")
