"""On call through the API: who is on call now for a team, people, overrides added and removed."""

from __future__ import annotations

import json
from datetime import timedelta
from http import HTTPStatus

import pytest
from django.utils import timezone
from django_tenants.utils import schema_context

from answering.models import Override
from tests.api.conftest import problem

pytestmark = pytest.mark.django_db


def test_who_is_on_call_now(bob_api, bobs_data):
    team = json.loads(bob_api.get(f"/api/v1/oncall/teams/{bobs_data.team.pk}").content)
    assert (team["name"], team["on_call"]["id"], team["source"]) == ("Bob team", bobs_data.person.pk, "rotation")
    assert team["until"] is not None and [o["id"] for o in team["overrides"]] == [bobs_data.override.pk]


def test_an_override_added_makes_its_person_on_call_and_is_removed(bob_api, bobs_data):
    now = timezone.now()
    made = bob_api.post(f"/api/v1/oncall/teams/{bobs_data.team.pk}/overrides", {
        "person": bobs_data.person.pk, "starts": (now - timedelta(minutes=1)).isoformat(),
        "ends": (now + timedelta(hours=2)).isoformat(), "note": "covering"})
    assert made.status_code == HTTPStatus.CREATED, made.content
    override = json.loads(made.content)
    team = json.loads(bob_api.get(f"/api/v1/oncall/teams/{bobs_data.team.pk}").content)
    assert team["source"] == "override"
    assert bob_api.delete(f"/api/v1/oncall/overrides/{override['id']}").status_code == HTTPStatus.NO_CONTENT
    with schema_context("bobsplumbing"):
        assert not Override.objects.filter(pk=override["id"]).exists()


def test_an_override_that_ends_before_it_starts_is_refused_by_field(bob_api, bobs_data):
    response = bob_api.post(f"/api/v1/oncall/teams/{bobs_data.team.pk}/overrides", {
        "person": bobs_data.person.pk, "starts": "2030-01-02T10:00:00Z", "ends": "2030-01-01T10:00:00Z"})
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert problem(response)["errors"] == [{"field": "ends", "message": "An override ends after it starts."}]


def test_people(bob_api, bobs_data):
    people = json.loads(bob_api.get("/api/v1/oncall/people").content)["results"]
    assert [p["name"] for p in people] == ["Bob Tech"]
