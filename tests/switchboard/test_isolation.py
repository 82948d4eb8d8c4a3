"""One client never sees another's data: through the ORM, a Celery worker, or a WebSocket."""

from __future__ import annotations

import json
import socket
import time
import uuid

import pytest
from django.conf import settings
from django.db import connection
from django_tenants.utils import schema_context, tenant_context
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from answering import tasks
from answering.models import KnowledgeFact
from answering.services import knowledge_facts_import
from tests.conftest import BOB_HOST, CHARLIE_HOST, PLATFORM_HOST, http
from tests.factories import ClientUserFactory, KnowledgeFactFactory

pytestmark = pytest.mark.django_db


def test_data_written_in_one_clients_schema_is_invisible_from_anothers(world):
    with tenant_context(world.bobs):
        knowledge_facts_import(facts=[{"title": "Van keys", "body": "Hook by the back door"}])
        assert KnowledgeFact.objects.filter(title="Van keys").exists()
    with tenant_context(world.charlies):
        assert not KnowledgeFact.objects.filter(title="Van keys").exists()
        assert list(KnowledgeFact.objects.values_list("body", flat=True)) == ["Charlie's: 8 to 5, closed weekends"]


def test_tenant_tables_do_not_exist_in_the_public_schema(world):
    with connection.cursor() as cursor:
        cursor.execute("SELECT to_regclass('public.answering_knowledgefact')")
        assert cursor.fetchone() == (None,)


@pytest.mark.processes
def test_a_task_sent_in_a_clients_context_runs_in_that_schema_on_a_real_worker(world, celery_worker):
    title = f"Alarm code {uuid.uuid4().hex[:6]}"
    with tenant_context(world.bobs):
        tasks.knowledge_facts_import_task.delay([{"title": title, "body": "1234#"}])

    deadline = time.monotonic() + 20
    found = False
    while time.monotonic() < deadline and not found:
        with schema_context("bobsplumbing"):
            # The worker commits on its own connection; each query here sees its commits.
            found = KnowledgeFact.objects.filter(title=title).exists()
        time.sleep(0.1)
    assert found, "the worker never wrote the fact into Bob's schema"
    with schema_context("charlieclinic"):
        assert not KnowledgeFact.objects.filter(title=title).exists()
    with schema_context(settings.TENANT_BASE_SCHEMA):
        assert not KnowledgeFact.objects.filter(title=title).exists()


def _ws(port: int, host: str, session_key: str | None):
    headers = {"Cookie": f"{settings.SESSION_COOKIE_NAME}={session_key}"} if session_key else {}
    sock = socket.create_connection(("127.0.0.1", port))
    return connect(f"ws://{host}:{port}/ws/portal/", sock=sock, origin=f"http://{host}:{port}",
                   additional_headers=headers, open_timeout=10)


@pytest.mark.processes
def test_a_websocket_on_a_clients_host_reads_that_clients_data(world, asgi_server):
    with _ws(asgi_server, BOB_HOST, world.sessions["bob@bobs.test"]) as ws:
        snapshot = json.loads(ws.recv(timeout=10))
    assert snapshot["type"] == "snapshot"
    assert snapshot["client"]["slug"] == "bobsplumbing"
    assert snapshot["greeting"].startswith("Thank you for calling Bob's Plumbing")
    assert [fact["body"] for fact in snapshot["knowledge"] if fact["title"] == "Hours"] == [
        "Bob's: 7 to 7, emergencies 24/7"]

    with _ws(asgi_server, CHARLIE_HOST, world.sessions["charlie@charlies.test"]) as ws:
        snapshot = json.loads(ws.recv(timeout=10))
    assert snapshot["client"]["slug"] == "charlieclinic"
    assert "Bob" not in json.dumps(snapshot)


@pytest.mark.processes
@pytest.mark.parametrize(("host", "who"), [
    (CHARLIE_HOST, "bob@bobs.test"),  # client A's session on client B's host
    (PLATFORM_HOST, "bob@bobs.test"),  # the portal feed is for client hosts only
    (BOB_HOST, "alice@switchboard.test"),  # platform staff on a client's host
    (BOB_HOST, None),  # no session at all
])
def test_a_websocket_refuses_anyone_who_does_not_belong(world, asgi_server, host, who):
    session = world.sessions[who] if who else None
    # Refused before the handshake completes: the server answers HTTP 403, nothing is sent.
    with pytest.raises(InvalidStatus) as refused:
        _ws(asgi_server, host, session)
    assert refused.value.response.status_code == 403


@pytest.mark.processes
def test_a_websocket_on_an_unknown_host_is_refused(world, asgi_server):
    with pytest.raises(InvalidStatus) as refused:
        _ws(asgi_server, "nobody.localhost", world.sessions["bob@bobs.test"])
    assert refused.value.response.status_code == 403


@pytest.mark.processes
def test_http_through_the_real_asgi_server_resolves_the_host(world, asgi_server):
    import urllib.request

    def get(host: str) -> tuple[int, str]:
        request = urllib.request.Request(f"http://127.0.0.1:{asgi_server}/accounts/login/", headers={"Host": host})
        with urllib.request.urlopen(request, timeout=10) as response:
            return response.status, response.read().decode()

    status, page = get(BOB_HOST)
    assert status == 200 and "Log in to Bob&#x27;s Plumbing" in page
    status, page = get(PLATFORM_HOST)
    assert status == 200 and "Log in to Switchboard" in page


def test_each_clients_admin_lists_only_its_own_facts(world, logged_in):
    with tenant_context(world.bobs):
        facts = KnowledgeFactFactory.create_batch(3)
    with tenant_context(world.charlies):
        KnowledgeFactFactory(title="Charlie-only fact")
    bobs_page = logged_in(world.bob, BOB_HOST).get("/admin/answering/knowledgefact/").content.decode()
    charlies_page = logged_in(world.charlie, CHARLIE_HOST).get("/admin/answering/knowledgefact/").content.decode()
    assert all(f.title in bobs_page for f in facts) and "Charlie-only" not in bobs_page
    assert "Charlie-only fact" in charlies_page and not any(f.title in charlies_page for f in facts)


def test_a_new_client_user_is_refused_on_other_hosts(world):
    ClientUserFactory(email="newhire@charlies.test", client=world.charlies)
    ok = http(CHARLIE_HOST).post("/accounts/login/", {"username": "newhire@charlies.test", "password": "password"})
    refused = http(BOB_HOST).post("/accounts/login/", {"username": "newhire@charlies.test", "password": "password"})
    assert ok.status_code == 302
    assert refused.status_code == 200
