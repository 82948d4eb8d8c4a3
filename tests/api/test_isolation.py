"""Isolation: with Bob's key on Bob's host, every operation asked for Charlie's objects (ids that
exist in Charlie's schema, never in Bob's) answers 404, and no list shows anything of Charlie's."""

from __future__ import annotations

import json
from http import HTTPStatus

import pytest

from tests.api.conftest import problem

pytestmark = pytest.mark.django_db


def test_every_operation_on_charlies_ids_is_404(bobs_data, charlies_data, bob_api):
    c = charlies_data
    asked = [
        ("get", f"/api/v1/messages/{c.message.pk}"),
        ("post", f"/api/v1/messages/{c.message.pk}/acknowledge"),
        ("get", f"/api/v1/calls/{c.call.pk}"),
        ("get", f"/api/v1/calls/{c.call.pk}/recording"),
        ("get", f"/api/v1/oncall/teams/{c.team.pk}"),
        ("post", f"/api/v1/oncall/teams/{c.team.pk}/overrides"),
        ("delete", f"/api/v1/oncall/overrides/{c.override.pk}"),
    ]
    for method, path in asked:
        response = getattr(bob_api, method)(path)
        assert response.status_code == HTTPStatus.NOT_FOUND, (method, path, response.content[:200])
        problem(response)
    # An override for Bob's team naming Charlie's person: refused by field, nothing made.
    response = bob_api.post(f"/api/v1/oncall/teams/{bobs_data.team.pk}/overrides", {
        "person": c.person.pk, "starts": "2030-01-01T10:00:00Z", "ends": "2030-01-01T12:00:00Z"})
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert problem(response)["errors"] == [{"field": "person", "message": "No such person."}]


def test_lists_show_only_bobs(bobs_data, charlies_data, bob_api):
    def ids(path):
        response = bob_api.get(path)
        assert response.status_code == HTTPStatus.OK, response.content[:300]
        body = json.loads(response.content)
        return {row["id"] for row in (body["results"] if isinstance(body, dict) else body)}

    b, c = bobs_data, charlies_data
    assert ids("/api/v1/messages") == {b.message.pk}
    assert ids("/api/v1/calls") == {b.call.pk}
    assert ids("/api/v1/oncall/teams") == {b.team.pk}
    assert ids("/api/v1/oncall/people") == {b.person.pk}
    assert ids("/api/v1/oncall/overrides") == {b.override.pk}
    assert ids("/api/v1/dnc") == {b.dnc.pk}
    assert ids("/api/v1/consents") == {b.consent.pk}
    assert c.message.pk not in ids("/api/v1/messages?q=Charlie")
    # Bob's dnc/remove acts on Bob's list only: Charlie's entry for the same number stays.
    assert bob_api.post("/api/v1/dnc/remove", {"number": "+12125557777"}).status_code == HTTPStatus.OK
    from django_tenants.utils import schema_context

    from compliance.models import DncEntry
    with schema_context("charlieclinic"):
        assert DncEntry.objects.get(pk=c.dnc.pk).removed_at is None


def test_charlies_key_on_bobs_host_sees_nothing(bobs_data, charlie_key):
    from tests.api.conftest import Api
    from tests.conftest import BOB_HOST

    api = Api(BOB_HOST, charlie_key[1])
    for path in ("/api/v1/messages", f"/api/v1/messages/{bobs_data.message.pk}", "/api/v1/calls", "/api/v1/dnc",
                 "/api/v1/oncall/teams"):
        response = api.get(path)
        assert response.status_code == HTTPStatus.UNAUTHORIZED, path
        assert bobs_data.message.caller_name.encode() not in response.content
