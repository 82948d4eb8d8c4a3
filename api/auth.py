"""Who is calling: ``Authorization: Bearer sb_…``, a key of this host's client, with the scopes asked.

A key works only on its own client's host (django-tenants has already picked the schema from
the host; a key of another client is refused 401 as if unknown, telling it nothing of that
client). Revoked and expired keys are refused 401 saying so; a missing scope is 403 naming it.

Each process keeps the key rows it looked up for API_KEY_CACHE_SECONDS (30; 0 in tests), found by
the whole key's hash, and trusts one only while the keys' generation in Redis — read in the same
round trip that counts the request against the rate limits — is the one it read before loading the
row. ``api_key_revoke`` bumps it, so a revocation holds from the next request in every process;
Redis unreachable, nothing cached is trusted (each request reads its key row).
"""

from __future__ import annotations

import time
from dataclasses import dataclass

from django.conf import settings
from rest_framework import exceptions
from rest_framework.authentication import BaseAuthentication
from rest_framework.permissions import BasePermission

from api import selectors
from api.models import ApiKey
from api.ratelimit import key_generation, rate_counters, rate_take_and_generation
from api.services.keys import api_key_touch, key_hash


@dataclass(frozen=True)
class KeyHolder:
    """``request.user`` for an API request: the system holding the key (no person, no session)."""

    key: ApiKey
    is_authenticated = True
    is_anonymous = False
    is_active = True

    @property
    def label(self) -> str:
        """How the client's records name who did it: ``API key sb_AbCd1234… (Practice software)``."""
        return f"API key {self.key}"


class KeyRefused(exceptions.AuthenticationFailed):
    pass


@dataclass(frozen=True)
class _Cached:
    key: ApiKey
    generation: str
    until: float  # time.monotonic()


# The key's SHA-256 → its row, as loaded under that generation. Per process; bounded.
_cache: dict[str, _Cached] = {}
_CACHE_MAX = 10_000


def _key_for(request, plain: str) -> ApiKey | None:
    """The key row for ``plain``, from this process's cache when the generation says it is current.
    On a cache hit the request is counted against the rate limits in the same round trip
    (``request.api_rate_wait``, which the throttle then uses)."""
    seconds = settings.API_KEY_CACHE_SECONDS
    if seconds <= 0:
        return selectors.api_key_for_plain(plain)
    digest = key_hash(plain)
    cached = _cache.get(digest)
    if cached is not None and cached.until > time.monotonic():
        wait, generation = rate_take_and_generation(rate_counters(cached.key))
        request.api_rate_wait = wait
        if generation is not None and generation == cached.generation:
            return cached.key
    else:
        generation = key_generation()
    # Read the generation first, then the row: a revocation committed after the read bumps it,
    # so the copy stored here is never trusted past that bump.
    key = selectors.api_key_for_plain(plain)
    if key is None or generation is None:
        _cache.pop(digest, None)
        return key
    if len(_cache) >= _CACHE_MAX:
        _cache.clear()
    _cache[digest] = _Cached(key, generation, time.monotonic() + seconds)
    return key


class ApiKeyAuthentication(BaseAuthentication):
    """Bearer keys; 401 with ``WWW-Authenticate: Bearer`` otherwise."""

    def authenticate(self, request):
        header = request.META.get("HTTP_AUTHORIZATION", "")
        scheme, _, plain = header.partition(" ")
        if not header:
            return None  # NotAuthenticated: "send a key"
        if scheme.lower() != "bearer" or not plain.strip():
            raise KeyRefused("Send the key as “Authorization: Bearer sb_…”.")
        key = _key_for(request, plain.strip())
        tenant = getattr(request._request, "tenant", None)
        if key is None or tenant is None or key.client_id != tenant.pk:
            # Another client's key says nothing about that client: the same answer as no key.
            raise KeyRefused("This key is not valid on this host.")
        if key.revoked_at is not None:
            raise KeyRefused(f"This key was revoked on {key.revoked_at:%Y-%m-%d %H:%M} UTC.")
        if key.is_expired():
            raise KeyRefused(f"This key expired on {key.expires_at:%Y-%m-%d %H:%M} UTC.")
        api_key_touch(key=key)
        return KeyHolder(key), key

    def authenticate_header(self, request) -> str:
        return 'Bearer realm="api"'


class HasScopes(BasePermission):
    """The view's ``required_scopes`` (all of them) are the key's."""

    def has_permission(self, request, view) -> bool:
        key = request.auth
        if not isinstance(key, ApiKey):
            raise exceptions.NotAuthenticated("Send an API key: “Authorization: Bearer sb_…”.")
        missing = [s for s in getattr(view, "required_scopes", ()) if s not in key.scopes]
        if missing:
            raise exceptions.PermissionDenied(
                f"This key lacks the scope{'s' if len(missing) > 1 else ''} {', '.join(f'“{s}”' for s in missing)}.")
        return True
