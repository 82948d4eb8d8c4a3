"""Pushes to browsers over Channels. Called after commit, never before (see services)."""

from __future__ import annotations

import logging

from asgiref.sync import async_to_sync
from channels.layers import get_channel_layer

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
        async_to_sync(get_channel_layer().group_send)(group, {"type": "push", "payload": payload})
    except Exception:  # Redis down must not break call handling
        logger.exception("push to %s failed", group)
