"""The script over the agent's WebSocket (issue #15, findings 4 and 12): each step checked on
the server as it is left, the answers drafted as the agent types and resumed by the next
console, the client's knowledge searched."""

from __future__ import annotations

import json

import pytest
from django.utils import timezone
from django_tenants.utils import schema_context

from answering.acd.models import CallSession
from answering.models import CallRecord, KnowledgeFact, Script
from tests.answering.conftest import _console, _until
from tests.conftest import BOB_SCRIPT

pytestmark = pytest.mark.processes


@pytest.fixture
def scripted(world, clean, django_db_blocker):  # noqa: F811 — the fixture imported above
    from answering.scripts.services import script_import_json

    with django_db_blocker.unblock():
        with schema_context("bobsplumbing"):
            script_import_json(data=BOB_SCRIPT)
            KnowledgeFact.objects.create(title="Gate code", body="The yard gate code is 4321.")
            KnowledgeFact.objects.create(title="Parking", body="Park on Elm Street.")
        call = clean(world.bobs)
        CallSession.objects.filter(pk=call.pk).update(state=CallSession.State.CONNECTED, agent=world.ben,
                                                     answered_at=timezone.now(), menu_choice="open:2")
        with schema_context("bobsplumbing"):
            CallRecord.objects.create(call_sid=call.call_sid, caller=call.from_number, number_dialed=call.to_number,
                                      arrived_at=timezone.now())
    yield call
    with django_db_blocker.unblock(), schema_context("bobsplumbing"):
        Script.objects.filter(key="service").delete()
        KnowledgeFact.objects.filter(title__in=["Gate code", "Parking"]).delete()


def test_a_malformed_callback_number_is_refused_at_its_step(world, asgi_server, scripted):
    with _console(asgi_server, world.sessions["ben@switchboard.test"]) as ws:
        _until(ws, lambda m: m["type"] == "snapshot" and m["call"])
        ws.send(json.dumps({"action": "script_next", "call": scripted.pk, "step": "details",
                            "answers": {"in_danger": "no", "name": "Dana", "callback_number": "555-01"}}))
        refused = _until(ws, lambda m: m["type"] in ("step_errors", "script_next"))
        assert refused["type"] == "step_errors" and list(refused["errors"]) == ["callback_number"]
        ws.send(json.dumps({"action": "script_next", "call": scripted.pk, "step": "details",
                            "answers": {"in_danger": "no", "name": "Dana", "callback_number": "(212) 555-0147"}}))
        assert _until(ws, lambda m: m["type"] == "script_next")["end"]["action"] == "message"


def test_the_answers_are_drafted_and_a_second_console_resumes_them(world, asgi_server, scripted, django_db_blocker):
    with _console(asgi_server, world.sessions["ben@switchboard.test"]) as ws:
        _until(ws, lambda m: m["type"] == "snapshot" and m["call"])
        ws.send(json.dumps({"action": "script_next", "call": scripted.pk, "step": "danger", "trail": [],
                            "answers": {"in_danger": "no"}}))
        assert _until(ws, lambda m: m["type"] == "script_next")["step"] == "details"
        ws.send(json.dumps({"action": "draft", "call": scripted.pk, "step": "details", "trail": ["danger"],
                            "answers": {"in_danger": "no", "name": "Dana Re"}}))
        ws.send(json.dumps({"action": "snapshot"}))  # the draft is written before this is answered
        _until(ws, lambda m: m["type"] == "snapshot")
    with _console(asgi_server, world.sessions["ben@switchboard.test"]) as again:
        call = _until(again, lambda m: m["type"] == "snapshot" and m["call"])["call"]
        assert call["draft"]["step"] == "details" and call["draft"]["trail"] == ["danger"]
        assert call["draft"]["answers"] == {"in_danger": "no", "name": "Dana Re"}


def test_the_clients_knowledge_is_searched_from_the_console(world, asgi_server, scripted):
    with _console(asgi_server, world.sessions["ben@switchboard.test"]) as ws:
        pop = _until(ws, lambda m: m["type"] == "snapshot" and m["call"])
        assert {"Gate code", "Parking"} <= {k["title"] for k in pop["call"]["knowledge"]}
        ws.send(json.dumps({"action": "knowledge_search", "call": scripted.pk, "query": "gate"}))
        found = _until(ws, lambda m: m["type"] == "knowledge")
        assert [k["title"] for k in found["results"]] == ["Gate code"]


def test_another_agents_call_is_not_drafted_nor_searched(world, asgi_server, scripted, django_db_blocker):
    with _console(asgi_server, world.sessions["ana@switchboard.test"]) as ws:
        _until(ws, lambda m: m["type"] == "snapshot")
        ws.send(json.dumps({"action": "knowledge_search", "call": scripted.pk, "query": "gate"}))
        assert _until(ws, lambda m: m["type"] in ("knowledge", "error"))["type"] == "error"
        ws.send(json.dumps({"action": "draft", "call": scripted.pk, "step": "details", "answers": {"name": "X"}}))
        ws.send(json.dumps({"action": "snapshot"}))
        _until(ws, lambda m: m["type"] == "snapshot")
    with django_db_blocker.unblock(), schema_context("bobsplumbing"):
        assert CallRecord.objects.get(call_sid=scripted.call_sid).draft == {}
