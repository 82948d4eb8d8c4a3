"""Who may open a WebSocket, from which page, on which path — over a real socket to uvicorn.

A socket is opened only from a page of its own host (the Origin is the Host: same name, same
port), and a path nobody serves is refused, never answered with a 500.
"""

from __future__ import annotations

import json
import socket

import pytest
from django.conf import settings
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from tests.conftest import BOB_HOST, CHARLIE_HOST, PLATFORM_HOST

pytestmark = pytest.mark.processes


def _open(port: int, host: str, path: str, session: str, origin: str | None):
    sock = socket.create_connection(("127.0.0.1", port))
    return connect(f"ws://{host}:{port}{path}", sock=sock, origin=origin, open_timeout=10,
                   additional_headers={"Cookie": f"{settings.SESSION_COOKIE_NAME}={session}"})


def _refused(port: int, host: str, path: str, session: str, origin: str | None) -> int:
    with pytest.raises(InvalidStatus) as refused:
        _open(port, host, path, session, origin).close()
    return refused.value.response.status_code


def test_a_clients_admin_opens_their_own_portal_feed(world, asgi_server):
    # Bob is Bob's Plumbing's client admin; his portal page opens /ws/portal/ on his host.
    with _open(asgi_server, BOB_HOST, "/ws/portal/", world.sessions["bob@bobs.test"],
               f"http://{BOB_HOST}:{asgi_server}") as ws:
        snapshot = json.loads(ws.recv(timeout=10))
    assert snapshot["type"] == "snapshot" and snapshot["client"]["slug"] == "bobsplumbing"
    assert isinstance(snapshot["unacknowledged"], int)


@pytest.mark.parametrize("origin", [
    "http://{charlie}:{port}",  # a page on another client's host: the same parent domain
    "http://{bob}:1",  # this host's name on another port is another origin
    "https://{bob}",  # ... and so is the default port of another scheme
    "http://{platform}:{port}",  # the platform's pages
    "null",  # a sandboxed frame or a file
    None,  # no Origin at all
])
def test_a_clients_socket_opens_only_from_its_own_pages(world, asgi_server, origin):
    if origin is not None:
        origin = origin.format(charlie=CHARLIE_HOST, bob=BOB_HOST, platform=PLATFORM_HOST, port=asgi_server)
    assert _refused(asgi_server, BOB_HOST, "/ws/portal/", world.sessions["bea@bobs.test"], origin) == 403


@pytest.mark.parametrize("origin", ["http://{bob}:{port}", "http://127.0.0.1:{port}", "http://localhost:1"])
def test_the_platforms_sockets_open_only_from_its_own_pages(world, asgi_server, origin):
    origin = origin.format(bob=BOB_HOST, port=asgi_server)
    for path, who in (("/ws/agent/", "ana@switchboard.test"), ("/ws/wallboard/", "sam@switchboard.test")):
        assert _refused(asgi_server, PLATFORM_HOST, path, world.sessions[who], origin) == 403
    # From its own pages they open.
    with _open(asgi_server, PLATFORM_HOST, "/ws/wallboard/", world.sessions["sam@switchboard.test"],
               f"http://{PLATFORM_HOST}:{asgi_server}") as ws:
        assert json.loads(ws.recv(timeout=10))["type"] == "snapshot"


@pytest.mark.parametrize(("host", "path"), [
    (BOB_HOST, "/ws/portal"),  # no trailing slash
    (BOB_HOST, "/ws/nosuch/"),
    (BOB_HOST, "/admin/"),
    (PLATFORM_HOST, "/clients/bobsplumbing/ws/portal/"),  # the client-data admin's prefix
])
def test_a_path_nobody_serves_is_refused_not_a_500(world, asgi_server, host, path):
    session = world.sessions["bob@bobs.test" if host == BOB_HOST else "alice@switchboard.test"]
    assert _refused(asgi_server, host, path, session, f"http://{host}:{asgi_server}") == 403
