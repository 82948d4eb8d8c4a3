"""A per-process cache of each client's call flow and of the number → client map.

Every webhook of a call needs the client's flow (prompts, menu, hours: five queries) and
the client behind the dialed number. Both change rarely, so each process keeps them and
asks Redis for a version number instead — at most once per ``FLOW_CACHE_CHECK_MS`` for
the same keys, so a change reaches every process within that time and a busy process
answers most calls with no round trip at all. Writers bump the version when their
transaction commits (so no reader can cache a half-written flow under the new version)
and clear this process's copy at once. If Redis is unreachable the cache is skipped and
the database answers: callers are never failed by a cache.
"""

from __future__ import annotations

import logging
import threading
import time

import redis
from django.conf import settings
from django.db import transaction

from switchboard.redis_clients import redis_client

logger = logging.getLogger(__name__)

_lock = threading.Lock()
_flows: dict[str, tuple[tuple[int, ...], object]] = {}
_numbers: dict[str, tuple[tuple[int, ...], object]] = {}
_checked: dict[tuple[str, ...], tuple[float, tuple[int, ...]]] = {}  # keys → (when read, versions)
NUMBERS_KEY = "switchboard:numbers:version"


def _redis() -> redis.Redis:
    return redis_client(timeout=0.2)  # a webhook never waits on the cache


def _version(*keys: str) -> tuple[int, ...] | None:
    window = settings.FLOW_CACHE_CHECK_MS / 1000
    if window:
        checked = _checked.get(keys)
        if checked and time.monotonic() - checked[0] < window:
            return checked[1]
    try:
        version = tuple(int(v or 0) for v in _redis().mget(keys))
    except (redis.RedisError, ValueError):
        logger.warning("flow cache: Redis unreachable; reading from the database")
        return None
    if window:
        _checked[keys] = (time.monotonic(), version)
    return version


def _flow_key(schema: str) -> str:
    return f"switchboard:flow:{schema}:version"


def flow_get(schema: str, load):
    """The flow of ``schema``: from this process's cache when current, else ``load()``."""
    # A flow also holds its client's name and languages: a change to clients renews it too.
    return _flow_current(schema, _version(_flow_key(schema), NUMBERS_KEY), load)


def _flow_current(schema: str, version: tuple[int, ...] | None, load):
    if version is not None:
        hit = _flows.get(schema)
        if hit and hit[0] == version:
            return hit[1]
    flow = load()
    if version is not None:
        with _lock:
            _flows[schema] = (version, flow)
    return flow


def client_for_number(number: str, load):
    version = _version(NUMBERS_KEY)
    if version is not None:
        hit = _numbers.get(number)
        if hit and hit[0] == version:
            return hit[1]
    client = load()
    if version is not None and client is not None:
        with _lock:
            _numbers[number] = (version, client)
    return client


def client_and_flow(number: str, load_client, load_flow):
    """The client behind ``number`` and its flow (``load_flow(client)``): one Redis round
    trip when this process has both (every call's first webhook asks for both)."""
    hit = _numbers.get(number)
    if hit is not None:
        client = hit[1]
        version = _version(NUMBERS_KEY, _flow_key(client.schema_name))
        if version is not None and hit[0] == version[:1]:
            return client, _flow_current(client.schema_name, (version[1], version[0]), lambda: load_flow(client))
    client = client_for_number(number, load_client)
    if client is None:
        return None, None
    return client, flow_get(client.schema_name, lambda: load_flow(client))


def flow_changed(schema: str) -> None:
    """Call when a client's flow changes: this process forgets it now, others on commit."""
    _flows.pop(schema, None)
    transaction.on_commit(lambda: _bump(_flow_key(schema)))


def numbers_changed() -> None:
    """Call when numbers or clients change (a suspended client must not keep its old flow)."""
    _numbers.clear()
    _flows.clear()
    transaction.on_commit(lambda: _bump(NUMBERS_KEY))


def _bump(key: str) -> None:
    try:
        _redis().incr(key)
    except redis.RedisError:
        logger.warning("flow cache: could not bump %s; other processes keep their copy", key)
    finally:
        _checked.clear()  # this process reads the new versions at once


def clear() -> None:
    """Forget everything in this process (tests)."""
    _flows.clear()
    _numbers.clear()
    _checked.clear()
