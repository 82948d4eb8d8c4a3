"""Requests per key and per client, counted atomically in Redis, the same for every process.

One Lua script increments every window's counter and says which is over, in one round trip:
DRF's own throttle reads and writes the cache in two steps, so two processes let through
more than the limit between them. Fixed windows of a minute (simple, and the burst at a
window's edge is at most twice the limit). Redis down: requests pass (logged), the API stays up.
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
# KEYS: the counters; ARGV: each counter's limit, then the window's length in seconds.
# Returns 0 when every counter is within its limit, else the seconds until the first full one resets.
_SCRIPT = """
local window = tonumber(ARGV[#ARGV])
local wait = 0
for i, key in ipairs(KEYS) do
  local n = redis.call('INCR', key)
  if n == 1 then redis.call('EXPIRE', key, window) end
  if n > tonumber(ARGV[i]) and wait == 0 then
    wait = redis.call('TTL', key)
    if wait < 1 then wait = 1 end
  end
end
return wait
"""
_scripts: dict[int, object] = {}


def _script(client: redis.Redis):
    found = _scripts.get(id(client))
    if found is None:
        found = _scripts[id(client)] = client.register_script(_SCRIPT)
    return found


def rate_take(counters: list[tuple[str, int]], *, window: int = 60) -> int:
    """Count one request on each (name, limit); 0 if all are within their limits, else seconds to wait."""
    bucket = int(time.time()) // window
    client = redis_client(timeout=0.5)
    try:
        return int(_script(client)(keys=[f"{PREFIX}{name}:{bucket}" for name, _ in counters],
                                   args=[limit for _, limit in counters] + [window]))
    except redis.RedisError:
        logger.warning("API rate limit not counted: Redis unavailable", exc_info=True)
        return 0


class KeyAndClientRateThrottle(BaseThrottle):
    """The API's throttle: API_RATE_PER_KEY_PER_MINUTE for each key, API_RATE_PER_CLIENT_PER_MINUTE
    for all of a client's keys together."""

    def allow_request(self, request, view) -> bool:
        key = request.auth
        if key is None:
            return True  # refused by authentication anyway
        self._wait = rate_take([(f"key:{key.pk}", settings.API_RATE_PER_KEY_PER_MINUTE),
                                (f"client:{key.client_id}", settings.API_RATE_PER_CLIENT_PER_MINUTE)])
        return self._wait == 0

    def wait(self) -> float | None:
        return float(self._wait)
