"""Which consoles each agent has open, across every web process (a Redis set of channel names).

A web process that dies without running ``disconnect`` leaves its entries behind; they
expire with the key after a day without any console opening, and an agent who logs in
again starts a fresh set (``opened(first=True)``) — so a stale entry can delay "away",
never hide a real disconnect for long.
"""

from __future__ import annotations

import redis

from switchboard.redis_clients import redis_client

TTL_SECONDS = 86400


def _redis() -> redis.Redis:
    return redis_client(timeout=1)


def _key(agent_id: int) -> str:
    return f"switchboard:consoles:{agent_id}"


def opened(agent_id: int, channel_name: str) -> None:
    pipe = _redis().pipeline()
    pipe.sadd(_key(agent_id), channel_name)
    pipe.expire(_key(agent_id), TTL_SECONDS)
    pipe.execute()


def closed(agent_id: int, channel_name: str) -> None:
    _redis().srem(_key(agent_id), channel_name)


def open_count(agent_id: int) -> int:
    return int(_redis().scard(_key(agent_id)))


def forget(agent_id: int) -> None:
    _redis().delete(_key(agent_id))
