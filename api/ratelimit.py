"""Requests per key and per client, counted atomically in Redis, the same for every process.

One Lua script increments every window's counter and says which is over, in one round trip:
DRF's own throttle reads and writes the cache in two steps, so two processes let through
more than the limit between them. Fixed windows of a minute (simple, and the burst at a
window's edge is at most twice the limit). Redis down: requests pass (logged), the API stays up.

The same round trip reads the keys' *generation* (``api:keys:gen``), which every revocation
bumps: a process trusts the key rows it cached (api/auth.py) only while the generation it read
before loading them is still the one Redis holds, so a revocation is seen by every process on
its next request without a database query on each.
"""

from __future__ import annotations

import logging
import time

import redis
from django.conf import settings
from rest_framework.throttling import BaseThrottle

from switchboard.redis_clients import redis_client

logger = logging.getLogger(__name__)

PREFIX = "api:rate:"
GENERATION = "api:keys:gen"
# KEYS: the counters, then the generation; ARGV: each counter's limit, then the window's length in
# seconds. Returns {wait, generation}: wait is 0 when every counter is within its limit, else the
# seconds until the first full one resets. A missing generation (Redis lost its data) starts from
# the clock, so it never comes back to a value a process cached before.
_SCRIPT = """
redis.replicate_commands()
local window = tonumber(ARGV[#ARGV])
local wait = 0
for i = 1, #KEYS - 1 do
  local n = redis.call('INCR', KEYS[i])
  if n == 1 then redis.call('EXPIRE', KEYS[i], window) end
  if n > tonumber(ARGV[i]) and wait == 0 then
    wait = redis.call('TTL', KEYS[i])
    if wait < 1 then wait = 1 end
  end
end
local gen = redis.call('GET', KEYS[#KEYS])
if not gen then
  local t = redis.call('TIME')
  gen = string.format('%d', tonumber(t[1]) * 1000000 + tonumber(t[2]))
  redis.call('SET', KEYS[#KEYS], gen)
end
return {wait, gen}
"""
# Bump the generation: +1, or from the clock when missing (see above).
_BUMP = """
redis.replicate_commands()
if redis.call('EXISTS', KEYS[1]) == 1 then return redis.call('INCR', KEYS[1]) end
local t = redis.call('TIME')
local gen = tonumber(t[1]) * 1000000 + tonumber(t[2])
redis.call('SET', KEYS[1], string.format('%d', gen))
return gen
"""
_scripts: dict[tuple[int, str], object] = {}


def _script(client: redis.Redis, source: str = _SCRIPT):
    found = _scripts.get((id(client), source))
    if found is None:
        found = _scripts[(id(client), source)] = client.register_script(source)
    return found


def rate_take_and_generation(counters: list[tuple[str, int]], *, window: int = 60) -> tuple[int, str | None]:
    """Count one request on each (name, limit) and read the keys' generation, in one round trip:
    (0 if all are within their limits else seconds to wait, the generation). Redis down: (0, None)."""
    bucket = int(time.time()) // window
    client = redis_client(timeout=0.5)
    try:
        wait, generation = _script(client)(
            keys=[f"{PREFIX}{name}:{bucket}" for name, _ in counters] + [GENERATION],
            args=[limit for _, limit in counters] + [window])
    except redis.RedisError:
        logger.warning("API rate limit not counted: Redis unavailable", exc_info=True)
        return 0, None
    return int(wait), generation.decode() if isinstance(generation, bytes) else str(generation)


def rate_take(counters: list[tuple[str, int]], *, window: int = 60) -> int:
    """Count one request on each (name, limit); 0 if all are within their limits, else seconds to wait."""
    return rate_take_and_generation(counters, window=window)[0]


def key_generation() -> str | None:
    """The keys' generation now (None: Redis unavailable, so no cached key may be trusted)."""
    return rate_take_and_generation([])[1]


def key_generation_bump() -> None:
    """Tell every process that a key changed: their cached key rows are stale from now on."""
    try:
        _script(redis_client(timeout=2), _BUMP)(keys=[GENERATION])
    except redis.RedisError:
        # Processes that cached the key before keep it until API_KEY_CACHE_SECONDS pass.
        logger.error("API key change not announced: Redis unavailable", exc_info=True)


def rate_counters(key) -> list[tuple[str, int]]:
    """The counters one request of ``key`` takes: its own and its client's."""
    return [(f"key:{key.pk}", settings.API_RATE_PER_KEY_PER_MINUTE),
            (f"client:{key.client_id}", settings.API_RATE_PER_CLIENT_PER_MINUTE)]


class KeyAndClientRateThrottle(BaseThrottle):
    """The API's throttle: API_RATE_PER_KEY_PER_MINUTE for each key, API_RATE_PER_CLIENT_PER_MINUTE
    for all of a client's keys together."""

    def allow_request(self, request, view) -> bool:
        key = request.auth
        if key is None:
            return True  # refused by authentication anyway
        counted = getattr(request, "api_rate_wait", None)
        if counted is not None:  # authentication counted it, with the key generation's read (api/auth.py)
            self._wait = counted
            return self._wait == 0
        self._wait = rate_take(rate_counters(key))
        return self._wait == 0

    def wait(self) -> float | None:
        return float(self._wait)
