"""Shared Redis clients for the small things Django's cache doesn't cover (versions,
counters, the simulator's mailbox). One connection pool per URL and timeout per process."""

from __future__ import annotations

import threading

import redis
from django.conf import settings

_clients: dict[tuple[str, float], redis.Redis] = {}
_lock = threading.Lock()


def redis_client(*, timeout: float) -> redis.Redis:
    """A client for ``settings.REDIS_URL`` whose connects and reads give up after ``timeout``
    seconds: short where a caller must never wait on Redis (a webhook), longer elsewhere."""
    key = (settings.REDIS_URL, timeout)
    client = _clients.get(key)
    if client is None:
        with _lock:
            client = _clients.setdefault(key, redis.Redis.from_url(
                settings.REDIS_URL, socket_timeout=timeout, socket_connect_timeout=timeout))
    return client
