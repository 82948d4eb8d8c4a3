"""Calls through the API: outcome and timings, the ETag, and a recording only for keys allowed to hear it."""

from __future__ import annotations

import json
from http import HTTPStatus

import pytest

from tests.api.conftest import problem

pytestmark = pytest.mark.django_db


def test_calls_list_with_outcome_timings_and_messages(bob_api, bobs_data):
    body = json.loads(bob_api.get("/api/v1/calls", {"outcome": "answered"}).content)
    call = body["results"][0]
    assert (call["id"], call["outcome"], call["wait_seconds"], call["talk_seconds"]) == (
        bobs_data.call.pk, "answered", 12, 240)
    assert call["messages"] == [bobs_data.message.pk] and call["has_recording"] is True
    assert call["recording_url"] == f"http://bobsplumbing.localhost/api/v1/calls/{bobs_data.call.pk}/recording"
    assert "draft" not in call  # the agent's working notes are not the client's record
    assert json.loads(bob_api.get("/api/v1/calls", {"outcome": "abandoned"}).content)["results"] == []
    assert "outcome" in [e["field"] for e in problem(bob_api.get("/api/v1/calls", {"outcome": "maybe"}))["errors"]]


def test_the_recording_link_and_audio_only_with_the_recordings_scope(world, key_for, bobs_data):
    hearing = key_for(world.bobs, scopes=["calls:read", "recordings:read"])
    deaf = key_for(world.bobs, scopes=["calls:read"])
    path = f"/api/v1/calls/{bobs_data.call.pk}"
    assert json.loads(deaf.get(path).content)["recording_url"] is None
    assert json.loads(hearing.get(path).content)["recording_url"].endswith("/recording")
    audio = hearing.get(path + "/recording")
    assert audio.status_code == HTTPStatus.OK and audio["Content-Type"] == "audio/wav"  # simulation: silence
    assert audio["Cache-Control"] == "private, no-store"
    refused = deaf.get(path + "/recording")
    assert refused.status_code == HTTPStatus.FORBIDDEN and "recordings:read" in problem(refused)["detail"]


def test_calls_etag(bob_api, bobs_data):
    first = bob_api.get("/api/v1/calls")
    assert bob_api.get("/api/v1/calls", HTTP_IF_NONE_MATCH=first["ETag"]).status_code == HTTPStatus.NOT_MODIFIED
    from django_tenants.utils import schema_context

    from answering.models import CallRecord
    with schema_context("bobsplumbing"):
        CallRecord.objects.filter(pk=bobs_data.call.pk).update(disposition="resolved")
    assert bob_api.get("/api/v1/calls", HTTP_IF_NONE_MATCH=first["ETag"]).status_code == HTTPStatus.OK
