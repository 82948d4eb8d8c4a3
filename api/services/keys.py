"""Creating and revoking API keys. The plain key exists only in the answer to its creation."""

from __future__ import annotations

import datetime as dt
import hashlib
import secrets
import string

from django.core.exceptions import ValidationError
from django.db import IntegrityError, transaction
from django.utils import timezone

from api.models import ApiKey, Scope
from api.ratelimit import key_generation_bump
from tenants.models import Client

KEY_PREFIX = "sb_"
PREFIX_LENGTH = 8
SECRET_LENGTH = 40  # 62^40: about 238 bits
_ALPHABET = string.ascii_letters + string.digits


def key_hash(plain: str) -> str:
    return hashlib.sha256(plain.encode()).hexdigest()


def _random(n: int) -> str:
    return "".join(secrets.choice(_ALPHABET) for _ in range(n))


def api_key_create(*, client: Client, name: str, scopes: list[str], expires_at: dt.datetime | None,
                   by: str) -> tuple[ApiKey, str]:
    """A new key for ``client``: (the row, the plain key). The plain key is shown once and never stored.

    Raises ValidationError (by field) for an empty name, an unknown scope, no scope, or an
    expiry in the past."""
    name = (name or "").strip()
    problems: dict[str, str] = {}
    if not name:
        problems["name"] = "Give the key a name: what will use it."
    unknown = sorted(set(scopes) - set(Scope.values))
    if unknown:
        problems["scopes"] = f"Unknown scope{'s' if len(unknown) > 1 else ''}: {', '.join(unknown)}."
    elif not scopes:
        problems["scopes"] = "Choose at least one scope."
    if expires_at is not None and expires_at <= timezone.now():
        problems["expires_at"] = "That expiry is already past."
    if problems:
        raise ValidationError(problems)
    ordered = [s for s in Scope.values if s in set(scopes)]
    for _ in range(5):  # a prefix collision is astronomically rare; try again rather than fail
        prefix = _random(PREFIX_LENGTH)
        plain = f"{KEY_PREFIX}{prefix}{_random(SECRET_LENGTH)}"
        try:
            with transaction.atomic():
                key = ApiKey.objects.create(client=client, name=name[:80], prefix=prefix, secret_hash=key_hash(plain),
                                            scopes=ordered, expires_at=expires_at, created_by=by[:200])
        except IntegrityError:
            continue
        return key, plain
    raise RuntimeError("could not find a free key prefix")


def api_key_revoke(*, key: ApiKey, by: str) -> bool:
    """Revoke ``key`` at once (the next request with it is refused). True only the first time."""
    changed = ApiKey.objects.filter(pk=key.pk, revoked_at__isnull=True).update(
        revoked_at=timezone.now(), revoked_by=by[:200])
    key.refresh_from_db(fields=["revoked_at", "revoked_by"])
    if changed:
        # Processes cache key rows (api/auth.py): bump now, so this transaction's own next request
        # reads the row again, and after the commit, so nobody keeps a copy read before it.
        key_generation_bump()
        transaction.on_commit(key_generation_bump)
    return bool(changed)


def api_key_touch(*, key: ApiKey, now: dt.datetime | None = None) -> None:
    """Record that ``key`` was used: at most one write a minute per key, not one per request."""
    now = now or timezone.now()
    if key.last_used_at is not None and now - key.last_used_at < dt.timedelta(minutes=1):
        return
    # The condition makes concurrent requests of one key write once between them.
    ApiKey.objects.filter(pk=key.pk).exclude(last_used_at__gt=now - dt.timedelta(minutes=1)).update(last_used_at=now)
    key.last_used_at = now
