"""Caps on what API requests can make the platform spend: texts and calls per client per hour.

SMS and call pumping — a stolen key sending thousands of texts to premium numbers — is how
such APIs are abused. Every API operation that will cause a text or a call takes its share
first, before anything is queued:

    from api.spend import spend_take
    spend_take(client, "texts")        # a booking's confirmation text
    spend_take(client, "calls", n=40)  # a campaign start that may place 40 calls this hour

Over the cap it raises a 429 problem with Retry-After (the hour's end), and nothing is taken.
Checking a number against the compliance gate places nothing and takes nothing. The counters
are in Redis, atomic across processes; if Redis cannot be reached the request is refused
(503): spending unmetered is what the cap exists to prevent.
"""

from __future__ import annotations

import logging
import time

import redis
from django.conf import settings

from api.errors import Problem
from switchboard.redis_clients import redis_client
from tenants.models import Client

logger = logging.getLogger(__name__)

PREFIX = "api:spend:"
KINDS = {"texts": "API_SPEND_TEXTS_PER_HOUR", "calls": "API_SPEND_CALLS_PER_HOUR"}
# KEYS[1]: the hour's counter; ARGV: n, the cap, the window. Returns -1 when taken, else the seconds to wait.
_SCRIPT = """
local n, cap, window = tonumber(ARGV[1]), tonumber(ARGV[2]), tonumber(ARGV[3])
local used = tonumber(redis.call('GET', KEYS[1]) or '0')
if used + n > cap then
  local ttl = redis.call('TTL', KEYS[1])
  if ttl < 1 then ttl = window end
  return ttl
end
redis.call('INCRBY', KEYS[1], n)
if redis.call('TTL', KEYS[1]) < 0 then redis.call('EXPIRE', KEYS[1], window) end
return -1
"""
WINDOW = 3600


def spend_take(client: Client, kind: str, n: int = 1) -> None:
    """Take ``n`` texts or calls from ``client``'s hourly API allowance, or raise a 429 problem."""
    if kind not in KINDS:
        raise ValueError(f"unknown spend kind {kind!r}")
    cap = getattr(settings, KINDS[kind])
    hour = int(time.time()) // WINDOW
    try:
        wait = int(redis_client(timeout=0.5).eval(_SCRIPT, 1, f"{PREFIX}{client.pk}:{kind}:{hour}", n, cap, WINDOW))
    except redis.RedisError as exc:
        logger.warning("API spend for %s not counted: Redis unavailable", client.schema_name, exc_info=True)
        raise Problem(503, "spend-unmetered", "Cannot count what this would spend",
                      "The spending cap cannot be checked just now, so nothing was sent. Try again shortly.",
                      headers={"Retry-After": "30"}) from exc
    if wait >= 0:
        raise Problem(429, "spend-cap", "Hourly spending cap reached",
                      f"This would exceed the {cap} {kind} an hour the API may cause for your account; "
                      f"nothing was sent. The allowance renews in {wait} s.", headers={"Retry-After": str(wait)})


def spend_used(client: Client, kind: str) -> int:
    """How many ``kind`` this hour's API requests have taken so far (for pages and tests)."""
    hour = int(time.time()) // WINDOW
    return int(redis_client(timeout=0.5).get(f"{PREFIX}{client.pk}:{kind}:{hour}") or 0)
