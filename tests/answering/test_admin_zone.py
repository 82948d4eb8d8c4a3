"""Times a client's admin types in the client-data admin are the client's own (issue 15, finding 8):
Bob's Plumbing is in New York, so "closed from 17:00" is 17:00 in New York, not in UTC."""

from __future__ import annotations

from datetime import datetime
from http import HTTPStatus
from zoneinfo import ZoneInfo

import pytest
from django_tenants.utils import schema_context

from answering.models import Closure, Override, Person, Team
from tests.conftest import BOB_HOST

pytestmark = pytest.mark.django_db
NEW_YORK = ZoneInfo("America/New_York")


def test_a_closure_typed_in_the_admin_is_in_the_clients_zone(world, logged_in):
    admin = logged_in(world.bob, BOB_HOST)
    response = admin.post("/admin/answering/closure/add/", {
        "name": "Christmas Eve", "starts_0": "2026-12-24", "starts_1": "17:00:00",
        "ends_0": "2026-12-26", "ends_1": "08:00:00"})
    assert response.status_code == HTTPStatus.FOUND, response.content.decode()[:2000]
    with schema_context("bobsplumbing"):
        closure = Closure.objects.get(name="Christmas Eve")
    assert closure.starts == datetime(2026, 12, 24, 17, tzinfo=NEW_YORK)
    assert closure.ends == datetime(2026, 12, 26, 8, tzinfo=NEW_YORK)
    # And it reads back as typed.
    page = admin.get(f"/admin/answering/closure/{closure.pk}/change/").content.decode()
    assert 'value="17:00:00"' in page and 'value="2026-12-24"' in page


def test_an_override_typed_in_the_admin_is_in_the_clients_zone(world, logged_in):
    with schema_context("bobsplumbing"):
        team = Team.objects.create(name="Zone technicians")
        person = Person.objects.create(name="Zoe Zone", mobile="+12125550177")
    response = logged_in(world.bob, BOB_HOST).post("/admin/answering/override/add/", {
        "team": team.pk, "person": person.pk, "starts_0": "2026-07-04", "starts_1": "18:00:00",
        "ends_0": "2026-07-05", "ends_1": "06:00:00", "note": "covering"})
    assert response.status_code == HTTPStatus.FOUND, response.content.decode()[:2000]
    with schema_context("bobsplumbing"):
        override = Override.objects.get(team=team)
    assert override.starts == datetime(2026, 7, 4, 18, tzinfo=NEW_YORK)  # EDT: 22:00 UTC
