"""WebSocket plumbing shared by every consumer.

django-tenants' middleware is HTTP-only, so WebSockets resolve their client here, from
the Host header, and consumers run ORM work through ``in_client_schema``: the schema is
set for each call (not once in ``connect()``), because Channels runs every sync
database call of every consumer on one shared thread.

A socket is only opened from a page of its own host: the ``Origin`` must be the ``Host``
itself (same name, same port). Client hosts share a parent domain, so an origin check by
``ALLOWED_HOSTS`` would let a script on one client's pages open a socket to another's
host with a session the browser holds there.
"""

from __future__ import annotations

import logging
from typing import Any, Callable
from urllib.parse import urlsplit

from channels.consumer import get_handler_name
from channels.db import database_sync_to_async
from channels.generic.websocket import AsyncJsonWebsocketConsumer
from django.conf import settings
from django.db import connection
from django_tenants.utils import remove_www, schema_context

from tenants import selectors
from tenants.models import Client, Domain

logger = logging.getLogger(__name__)

_DEFAULT_PORTS = {"http": 80, "https": 443}


def _header(scope, name: bytes) -> str:
    for key, value in scope.get("headers", []):
        if key == name:
            return value.decode("latin1")
    return ""


def _host_from_scope(scope) -> str:
    return remove_www(_header(scope, b"host").split(":")[0].lower())


def origin_is_host(scope) -> bool:
    """Does the ``Origin`` name this very host (name and port)? No Origin, no socket: every
    browser sends one on a WebSocket handshake, and only browsers carry a victim's cookie."""
    host, origin = _header(scope, b"host"), _header(scope, b"origin")
    if not host or not origin:
        return False
    try:
        page, asked = urlsplit(origin), urlsplit(f"//{host}")
        if page.scheme not in ("http", "https") or not page.hostname:
            return False
        default = _DEFAULT_PORTS[page.scheme]
        # The Host's port is read against the page's scheme: behind a TLS proxy the socket
        # arrives as ws:// while the page (and so the Origin) is https://, and a browser
        # leaves the default port out of the Origin where a proxy may keep it in the Host.
        return (asked.hostname, asked.port or default) == (page.hostname, page.port or default)
    except ValueError:  # a port that is not a number, an unbalanced [
        return False


@database_sync_to_async
def _client_for_host(host: str) -> Client | None | bool:
    """The client behind a host; None for the platform host; False for an unknown host."""
    if host in settings.PLATFORM_HOSTS:
        return None
    connection.set_schema_to_public()
    domain = Domain.objects.select_related("tenant").filter(domain=host).first()
    return domain.tenant if domain else False


async def _refuse(receive, send, code: int) -> None:
    """Close before accepting: the browser sees the handshake refused (HTTP 403)."""
    await receive()  # websocket.connect
    await send({"type": "websocket.close", "code": code})


class ClientHostMiddleware:
    """ASGI middleware: refuse a socket opened from another origin, then put the host's
    client (or None for the platform host) in the scope."""

    def __init__(self, inner):
        self.inner = inner

    async def __call__(self, scope, receive, send):
        if not origin_is_host(scope):
            logger.warning("websocket %s refused: Origin %r is not the host %r", scope.get("path"),
                           _header(scope, b"origin"), _header(scope, b"host"))
            return await _refuse(receive, send, 4403)
        client = await _client_for_host(_host_from_scope(scope))
        if client is False:
            # Unknown host: refuse before any consumer code runs.
            return await _refuse(receive, send, 4404)
        return await self.inner({**scope, "client": client}, receive, send)


async def no_such_socket(scope, receive, send) -> None:
    """The last WebSocket route: a path nobody serves is refused (Channels' router would
    raise, and the handshake would answer 500)."""
    logger.info("websocket refused: no route for %s", scope.get("path"))
    await _refuse(receive, send, 4404)


class ClientConsumer(AsyncJsonWebsocketConsumer):
    """Base consumer: authenticates the session for this host and runs ORM work in its schema.

    Subclasses say who may connect (``allows``), which groups to join (``groups_for``) and
    what a (re)connecting screen needs (``snapshot``, run in the client's schema).
    """

    client: Client | None

    async def connect(self) -> None:
        self.client = self.scope.get("client")
        user = self.scope.get("user")
        # The checks may query (an agent's skills), so they run on the database thread.
        if not (getattr(user, "is_authenticated", False)
                and await self.in_client_schema(lambda: user.may_use_host(self.client) and self.allows(user))):
            await self.close(code=4403)
            return
        self.user = user
        self.joined = list(await self.in_client_schema(self.groups_for, user))
        for group in self.joined:
            await self.channel_layer.group_add(group, self.channel_name)
        await self.accept()
        await self.send_json({"type": "snapshot", **(await self.in_client_schema(self.snapshot))})

    async def dispatch(self, message: dict) -> None:
        """Channels closes stale database connections before every handler, a hop to the
        database thread and back; here the database is only reached through
        ``in_client_schema``, which does that itself. Skipping it matters: one queue change
        pushed to 200 consoles was 200 hops queued on one thread per process, and the next
        offer waited behind them."""
        handler = getattr(self, get_handler_name(message), None)
        if handler is None:
            await super().dispatch(message)  # raises: no handler for this message type
            return
        await handler(message)

    async def disconnect(self, code: int) -> None:
        for group in getattr(self, "joined", []):
            await self.channel_layer.group_discard(group, self.channel_name)

    async def in_client_schema(self, fn: Callable[..., Any], *args, **kwargs) -> Any:
        """Run ``fn`` on the database thread inside this connection's client schema."""
        schema = self.client.schema_name if self.client else selectors.PUBLIC_SCHEMA

        def run():
            with schema_context(schema):
                return fn(*args, **kwargs)

        return await database_sync_to_async(run)()

    # Hooks for subclasses ------------------------------------------------------------
    def allows(self, user) -> bool:
        """Runs on the database thread: it may query."""
        return True

    def groups_for(self, user) -> list[str]:
        """Runs on the database thread, in the client's schema: it may query."""
        return []

    def snapshot(self) -> dict:
        return {}

    async def push(self, event: dict) -> None:
        """Relay a group message ({"type": "push", "payload": {...}}) to the browser."""
        await self.send_json(event["payload"])


def client_group(schema: str, name: str) -> str:
    """Group names carry the client's schema, so no push can cross clients."""
    return f"client.{schema}.{name}"
