"""Pushes to browsers over Channels. Called after commit, never before (see services)."""

from __future__ import annotations

import asyncio
import logging
import threading
from typing import Callable

import redis
from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer
from channels_redis.pubsub import RedisPubSubChannelLayer
from django.conf import settings
from django.db import connections

from switchboard.redis_clients import redis_client
from tenants.websocket import client_group

logger = logging.getLogger(__name__)


def agent_group(agent_id: int) -> str:
    return f"agent.{agent_id}"


SUPERVISORS_GROUP = "supervisors"


def client_queue_group(schema: str) -> str:
    """Agents serving a client listen here for its queue; named with the client's schema."""
    return client_group(schema, "queue")


def client_portal_group(schema: str) -> str:
    """The client's own people, in its portal: new messages, acknowledgements."""
    return client_group(schema, "portal")


def push(group: str, payload: dict) -> None:
    """Send ``payload`` to every browser in ``group``. A push that fails is logged, not raised:
    consoles heal from the snapshot they get on reconnect."""
    try:
        # This timer thread is outside asgiref's: async_to_sync's executor is already gone
        # when a short-lived process (a management command) is exiting — the push would be
        # lost, and with the due mark set, nobody else's either.
        _group_send(group, {"type": "push", "payload": payload}, own_loop=True)
    except Exception:  # Redis down must not break call handling
        logger.exception("push to %s failed", group)


def _group_send(group: str, message: dict, *, own_loop: bool = False) -> None:
    """``group_send`` from synchronous code. With the pub/sub layer (one Redis, ours), a
    group is a Redis pub/sub channel and a send is one PUBLISH of the layer's serialization:
    published here, from this thread — not through ``async_to_sync``, which waits for this
    process's event loop, busy under load relaying pushes to its own consoles (an offer
    waited behind them). Other layers go the usual way; ``own_loop`` runs a loop of its own
    for threads outside asgiref's (see ``_push_due``)."""
    layer = get_channel_layer()
    config = settings.CHANNEL_LAYERS["default"]["CONFIG"]
    if isinstance(layer, RedisPubSubChannelLayer) and config["hosts"] == [{"address": settings.REDIS_URL}]:
        redis_client(timeout=1).publish(f"{config['prefix']}__group__{group}", layer.serialize(message))
    elif own_loop:
        asyncio.run(layer.group_send(group, message))
    else:
        async_to_sync(layer.group_send)(group, message)


def push_soon(key: str, build: Callable[[], tuple[str, dict]]) -> None:
    """Push ``build()``'s (group, payload) ``LIVE_COALESCE_MS`` from now, once, however many
    changes ask for it meanwhile, in this process or any other: a burst of changes (a call
    queued, offered and accepted within a blink) costs one push to every console instead of
    one per change. ``build`` runs when the push is due, so the payload is the state then.

    Call after commit. The due mark is cleared before ``build`` reads, so a change committed
    after the read marks a new push of its own. If the process holding the mark dies first,
    the mark expires and consoles catch up with the next change or their next snapshot."""
    window = settings.LIVE_COALESCE_MS / 1000
    if window <= 0:
        push(*build())
        return
    mark = f"switchboard:push-due:{key}"
    try:
        if not redis_client(timeout=0.2).set(mark, 1, nx=True, px=settings.LIVE_COALESCE_MS * 10):
            return  # a push is already due, here or in another process; it will carry this change
    except redis.RedisError:
        push(*build())  # push() logs the failure if Redis is really down
        return
    threading.Timer(window, _push_due, (mark, build)).start()


def _push_due(mark: str, build: Callable[[], tuple[str, dict]]) -> None:
    try:
        redis_client(timeout=0.2).delete(mark)
        group, payload = build()
        # This timer thread is outside asgiref's: async_to_sync's executor is already gone
        # when a short-lived process (a management command) is exiting — the push would be
        # lost, and with the due mark set, nobody else's either.
        _group_send(group, {"type": "push", "payload": payload}, own_loop=True)
    except Exception:
        logger.exception("coalesced push %s failed", mark)
    finally:
        connections.close_all()  # this timer thread's database connection goes back to the pool
