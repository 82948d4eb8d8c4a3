"""The portal's API keys page: a client admin creates a key (the plain key shown once), sees it
listed by prefix, revokes it; a client user and another client's admin cannot."""

from __future__ import annotations

import re
from http import HTTPStatus

import pytest

from api.models import ApiKey
from tests.api.conftest import Api
from tests.conftest import BOB_HOST, CHARLIE_HOST

pytestmark = pytest.mark.django_db


def test_a_client_admin_creates_a_key_sees_it_once_and_revokes_it(world, logged_in):
    page = logged_in(world.bob, BOB_HOST)
    made = page.post("/api-keys/", {"name": "Practice software", "scopes": ["messages:read", "messages:write"],
                                    "expires_on": ""})
    assert made.status_code == HTTPStatus.OK and made["Cache-Control"] == "no-store"
    plain = re.search(r"data-plain-key>(sb_[A-Za-z0-9]{48})<", made.content.decode()).group(1)
    key = ApiKey.objects.get(client=world.bobs, name="Practice software")
    assert key.scopes == ["messages:read", "messages:write"] and key.created_by.endswith("<bob@bobs.test>")
    assert Api(BOB_HOST, plain).get("/api/v1/messages").status_code == HTTPStatus.OK
    again = page.get("/api-keys/").content.decode()
    assert plain not in again and f"sb_{key.prefix}…" in again  # shown once; then only the prefix
    assert page.post(f"/api-keys/{key.pk}/revoke").status_code == HTTPStatus.FOUND
    assert Api(BOB_HOST, plain).get("/api/v1/messages").status_code == HTTPStatus.UNAUTHORIZED


def test_bad_input_is_refused_by_field(world, logged_in):
    page = logged_in(world.bob, BOB_HOST)
    response = page.post("/api-keys/", {"name": "", "scopes": [], "expires_on": "2001-01-01"})
    body = response.content.decode()
    assert "This field is required." in body and "Choose at least one scope." in body
    assert not ApiKey.objects.filter(client=world.bobs).exists()
    past = page.post("/api-keys/", {"name": "Old", "scopes": ["calls:read"], "expires_on": "2001-01-01"})
    assert "That expiry is already past." in past.content.decode()


def test_only_the_clients_admins_manage_keys(world, logged_in):
    assert logged_in(world.bea, BOB_HOST).get("/api-keys/").status_code == HTTPStatus.FORBIDDEN
    page = logged_in(world.bob, BOB_HOST)
    page.post("/api-keys/", {"name": "CRM", "scopes": ["calls:read"]})
    key = ApiKey.objects.get(client=world.bobs, name="CRM")
    charlie = logged_in(world.charlie, CHARLIE_HOST)
    assert b"CRM" not in charlie.get("/api-keys/").content
    assert charlie.post(f"/api-keys/{key.pk}/revoke").status_code == HTTPStatus.NOT_FOUND
    key.refresh_from_db()
    assert key.revoked_at is None
    assert logged_in(world.bea, BOB_HOST).post(f"/api-keys/{key.pk}/revoke").status_code == HTTPStatus.FORBIDDEN


def test_a_platform_admin_lists_and_revokes_any_key(world, logged_in):
    from api.services.keys import api_key_create
    from tests.conftest import PLATFORM_HOST

    key, _ = api_key_create(client=world.charlies, name="EHR", scopes=["calls:read"], expires_at=None, by="c")
    admin = logged_in(world.alice, PLATFORM_HOST)
    listing = admin.get("/admin/api/apikey/")
    assert listing.status_code == HTTPStatus.OK and f"sb_{key.prefix}…".encode() in listing.content
    admin.post("/admin/api/apikey/", {"action": "revoke", "_selected_action": [key.pk]})
    key.refresh_from_db()
    assert key.revoked_at is not None and "alice@switchboard.test" in key.revoked_by
