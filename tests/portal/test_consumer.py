"""The portal's live feed over a real WebSocket: its client's pushes only, its client's people only."""

from __future__ import annotations

import json
import socket
import time

import pytest
from django.conf import settings
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from answering import live
from tests.conftest import BOB_HOST, CHARLIE_HOST, _push

pytestmark = pytest.mark.processes


def _portal(port: int, host: str, session: str):
    sock = socket.create_connection(("127.0.0.1", port))
    return connect(f"ws://{host}:{port}/ws/portal/", sock=sock, origin=f"http://{host}:{port}", open_timeout=10,
                   additional_headers={"Cookie": f"{settings.SESSION_COOKIE_NAME}={session}"})


def _next(ws, timeout=10.0) -> dict:
    return json.loads(ws.recv(timeout=timeout))


def test_the_feed_carries_its_clients_pushes_only(world, asgi_server):
    with _portal(asgi_server, BOB_HOST, world.sessions["bea@bobs.test"]) as ws:
        snapshot = _next(ws)
        assert snapshot["type"] == "snapshot" and snapshot["client"]["slug"] == "bobsplumbing"
        assert isinstance(snapshot["unacknowledged"], int)
        time.sleep(0.3)  # the group membership is in Redis before anything is pushed
        _push(live.client_portal_group("charlieclinic"), {"type": "message", "message": 991, "urgency": "urgent"})
        _push(live.client_portal_group("bobsplumbing"), {"type": "message", "message": 992, "urgency": "normal"})
        # The first thing to arrive is Bob's; Charlie's never does.
        assert _next(ws) == {"type": "message", "message": 992, "urgency": "normal"}
        with pytest.raises(TimeoutError):
            ws.recv(timeout=1)


@pytest.mark.parametrize(("host", "who"), [
    (BOB_HOST, "charlie@charlies.test"),  # another client's admin
    (BOB_HOST, "ana@switchboard.test"),  # an agent who serves Bob's Plumbing
    (BOB_HOST, "alice@switchboard.test"),  # the platform admin
    ("localhost", "bea@bobs.test"),  # the platform host has no portal
])
def test_the_feed_refuses_anyone_else(world, asgi_server, host, who):
    with pytest.raises(InvalidStatus) as refused:
        _portal(asgi_server, host, world.sessions[who])
    assert refused.value.response.status_code == 403


def test_charlies_feed_does_not_hear_bobs_messages(world, asgi_server):
    with _portal(asgi_server, CHARLIE_HOST, world.sessions["charlie@charlies.test"]) as ws:
        assert _next(ws)["client"]["slug"] == "charlieclinic"
        time.sleep(0.3)
        _push(live.client_portal_group("bobsplumbing"), {"type": "message_changed", "message": 5})
        with pytest.raises(TimeoutError):
            ws.recv(timeout=1.5)
