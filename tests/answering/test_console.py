"""The agent console over a real WebSocket, a real ASGI server and a real Celery worker.

Not in a test transaction: the server and the worker are other processes and must see
committed rows; each test cleans up what it made.
"""

from __future__ import annotations

import json
import socket
import time
import uuid

import pytest
from django.conf import settings
from django.utils import timezone
from django_tenants.utils import schema_context
from websockets.exceptions import InvalidStatus
from websockets.sync.client import connect

from answering.acd.models import AgentPresence, CallSession
from tests.answering.conftest import _console, _until, _wallboard
from tests.conftest import BOB_SCRIPT, _push

pytestmark = pytest.mark.processes


def test_a_console_gets_a_whole_snapshot_of_what_the_agent_serves(world, asgi_server, clean):
    with _console(asgi_server, world.sessions["ben@switchboard.test"]) as ws:
        snapshot = json.loads(ws.recv(timeout=10))
    assert snapshot["type"] == "snapshot" and snapshot["status"] == "offline"
    assert [q["client"] for q in snapshot["queues"]] == ["bobsplumbing"]  # Ben serves Bob's only
    assert snapshot["offer"] is None and snapshot["call"] is None


@pytest.mark.parametrize(("who", "host"), [
    ("bob@bobs.test", "localhost"),  # a client's admin: not an agent
    ("alice@switchboard.test", "localhost"),  # a platform admin without skills
    ("ben@switchboard.test", "bobsplumbing.localhost"),  # an agent, but on a client's host
    (None, "localhost"),
])
def test_only_agents_open_the_agent_socket(world, asgi_server, who, host):
    with pytest.raises(InvalidStatus) as refused:
        _console(asgi_server, world.sessions[who] if who else None, host=host)
    assert refused.value.response.status_code == 403


def test_an_offer_arrives_live_and_is_accepted_from_the_console(world, asgi_server, celery_worker, clean):
    call = clean(world.bobs)
    with _console(asgi_server, world.sessions["ben@switchboard.test"]) as ws:
        _until(ws, lambda m: m["type"] == "snapshot")
        ws.send(json.dumps({"action": "status", "status": "available"}))
        offer = _until(ws, lambda m: m["type"] == "offer" or (m["type"] == "snapshot" and m["offer"]))
        offer = offer if offer["type"] == "offer" else offer["offer"]
        assert offer["call"] == call.pk and offer["client"] == "Bob's Plumbing" and offer["caller"] == "+12125550042"
        ws.send(json.dumps({"action": "accept", "call": call.pk}))
        pop = _until(ws, lambda m: m["type"] == "snapshot" and m["call"])
    assert pop["status"] == "on_call"
    assert pop["call"]["client"]["name"] == "Bob's Plumbing"
    assert pop["call"]["greeting"] == "Thank you for calling Bob's Plumbing, this is Ben."
    assert "Hours" in [k["title"] for k in pop["call"]["knowledge"]]


def test_the_screen_pop_is_sent_once_to_the_accepting_console_and_to_the_agents_other_console(
        world, asgi_server, celery_worker, clean):
    """The accepting console shows what its accept returned; the "connected" push redraws
    the agent's other consoles (a second tab) but not that one a second time."""
    call = clean(world.bobs)
    session = world.sessions["ben@switchboard.test"]
    with _console(asgi_server, session) as ws, _console(asgi_server, session) as other:
        _until(ws, lambda m: m["type"] == "snapshot")
        _until(other, lambda m: m["type"] == "snapshot")
        ws.send(json.dumps({"action": "status", "status": "available"}))
        _until(ws, lambda m: m["type"] == "offer" or (m["type"] == "snapshot" and m["offer"]))
        ws.send(json.dumps({"action": "accept", "call": call.pk}))
        _until(ws, lambda m: m["type"] == "snapshot" and m["call"])
        assert _until(other, lambda m: m["type"] == "snapshot" and m["call"])["call"]["call"] == call.pk
        pops = []
        deadline = time.monotonic() + 1.5
        while time.monotonic() < deadline:
            try:
                message = json.loads(ws.recv(timeout=max(0.05, deadline - time.monotonic())))
            except TimeoutError:
                break
            pops += [message] if message["type"] == "snapshot" and message["call"] else []
    assert pops == []


def test_an_agent_whose_console_is_gone_is_away_and_the_offer_moves_on(world, asgi_server, celery_worker, clean,
                                                                        django_db_blocker):
    with _console(asgi_server, world.sessions["ben@switchboard.test"]) as ws:
        _until(ws, lambda m: m["type"] == "snapshot")
        ws.send(json.dumps({"action": "status", "status": "available"}))
        _until(ws, lambda m: m["type"] == "snapshot" and m["status"] == "available")
    deadline = time.monotonic() + 15
    status = None
    while time.monotonic() < deadline:
        with django_db_blocker.unblock():
            status = AgentPresence.objects.get(agent=world.ben).status
        if status == "away":
            break
        time.sleep(0.2)
    assert status == "away"


def test_the_wallboard_shows_every_client_and_changes_live(world, asgi_server, celery_worker, clean):
    with _wallboard(asgi_server, world.sessions["sam@switchboard.test"]) as ws:
        first = _until(ws, lambda m: m["type"] == "snapshot")
        bobs = next(c for c in first["clients"] if c["client"] == "bobsplumbing")
        before = bobs["waiting"]
        call = clean(world.bobs)
        _push("client.bobsplumbing.queue", {"type": "queue_changed"})
        changed = _until(ws, lambda m: m["type"] == "snapshot" and next(
            c for c in m["clients"] if c["client"] == "bobsplumbing")["waiting"] == before + 1)
    assert {c["client"] for c in changed["clients"]} >= {"bobsplumbing", "charlieclinic"}
    assert call.pk


@pytest.mark.parametrize("who", ["ana@switchboard.test", "bob@bobs.test"])
def test_only_supervisors_open_the_wallboard(world, asgi_server, who):
    with pytest.raises(InvalidStatus) as refused:
        _wallboard(asgi_server, world.sessions[who])
    assert refused.value.response.status_code == 403


def test_a_quiet_console_still_gets_pushes_after_the_redis_read_timeout(world, asgi_server, clean):
    """redis-py's default 5 s read timeout once killed consoles idle for 5 s (settings.py)."""
    with _console(asgi_server, world.sessions["ben@switchboard.test"]) as ws:
        _until(ws, lambda m: m["type"] == "snapshot")
        time.sleep(7)
        _push(f"agent.{world.ben.pk}", {"type": "notice", "text": "still here"})
        assert _until(ws, lambda m: m["type"] == "notice")["text"] == "still here"


def test_a_taken_message_reaches_the_clients_portal_live_after_commit(world, asgi_server, django_db_blocker):
    call_sid = "CA" + uuid.uuid4().hex
    sock = socket.create_connection(("127.0.0.1", asgi_server))
    cookie = f"{settings.SESSION_COOKIE_NAME}={world.sessions['bob@bobs.test']}"
    with connect(f"ws://bobsplumbing.localhost:{asgi_server}/ws/portal/", sock=sock, open_timeout=10,
                 origin=f"http://bobsplumbing.localhost:{asgi_server}", additional_headers={"Cookie": cookie}) as portal:
        _check_message_push(portal, call_sid, django_db_blocker)


def _check_message_push(portal, call_sid: str, django_db_blocker) -> None:
    import threading

    from answering.messages.services import message_take
    from answering.models import Message, Script
    from answering.scripts.services import script_import_json

    try:
        _until(portal, lambda m: m["type"] == "snapshot")

        def take():  # its own thread and connection: committed, as in a consumer or a view
            with django_db_blocker.unblock(), schema_context("bobsplumbing"):
                script = script_import_json(data=BOB_SCRIPT)
                message_take(version=script.current_version, call_sid=call_sid, caller="+12125550099",
                             answers={"in_danger": "no", "name": "Lee", "callback_number": "2125550099"})
            from django.db import connection

            connection.close()

        thread = threading.Thread(target=take)
        thread.start()
        thread.join(20)
        pushed = _until(portal, lambda m: m.get("type") == "message")
        with django_db_blocker.unblock(), schema_context("bobsplumbing"):
            assert Message.objects.get(pk=pushed["message"]).call_sid == call_sid
    finally:
        with django_db_blocker.unblock(), schema_context("bobsplumbing"):
            Message.objects.filter(call_sid=call_sid).delete()
            Script.objects.filter(key="service").delete()


def test_an_unanswered_branch_question_is_asked_again_and_the_console_lives_on(world, asgi_server, clean,
                                                                                django_db_blocker):
    from answering.models import Script
    from answering.scripts.services import script_import_json

    with django_db_blocker.unblock():
        with schema_context("bobsplumbing"):
            script_import_json(data=BOB_SCRIPT)
        call = clean(world.bobs)
        CallSession.objects.filter(pk=call.pk).update(state=CallSession.State.CONNECTED, agent=world.ben,
                                                     answered_at=timezone.now(), menu_choice="open:2")
    try:
        with _console(asgi_server, world.sessions["ben@switchboard.test"]) as ws:
            pop = _until(ws, lambda m: m["type"] == "snapshot" and m["call"])
            assert pop["call"]["script"]["first_step"] == "danger"
            ws.send(json.dumps({"action": "script_next", "call": call.pk, "step": "danger", "answers": {}}))
            # Said at the step, field by field (issue #15, finding 4): the required answer is missing.
            refused = _until(ws, lambda m: m["type"] == "step_errors")
            assert refused["step"] == "danger" and "required" in refused["errors"]["in_danger"][0]
            ws.send(json.dumps({"action": "script_next", "call": call.pk, "step": "danger",
                                "answers": {"in_danger": "no"}}))
            assert _until(ws, lambda m: m["type"] == "script_next")["step"] == "details"
    finally:
        with django_db_blocker.unblock(), schema_context("bobsplumbing"):
            Script.objects.filter(key="service").delete()
