"""Keys: shown once and stored hashed; refused when unknown, on another client's host, revoked,
expired or without the scope — each with a problem that says which."""

from __future__ import annotations

import hashlib
from datetime import timedelta
from http import HTTPStatus

import pytest
from django.core.exceptions import ValidationError
from django.utils import timezone

from api.models import ApiKey
from api.services.keys import api_key_create, api_key_revoke
from tests.api.conftest import Api, problem
from tests.conftest import BOB_HOST, CHARLIE_HOST, PLATFORM_HOST

pytestmark = pytest.mark.django_db


def test_a_key_is_stored_hashed_with_a_visible_prefix(world):
    key, plain = api_key_create(client=world.bobs, name="CRM", scopes=["messages:read"], expires_at=None, by="bob")
    assert plain.startswith("sb_") and plain[3:11] == key.prefix and len(plain) == 51
    assert key.secret_hash == hashlib.sha256(plain.encode()).hexdigest()
    assert plain not in str(ApiKey.objects.filter(pk=key.pk).values().get())  # the plain key is nowhere


def test_creating_a_key_refuses_bad_input_by_field(world):
    with pytest.raises(ValidationError) as refused:
        api_key_create(client=world.bobs, name=" ", scopes=["messages:read", "everything"],
                       expires_at=timezone.now() - timedelta(days=1), by="bob")
    assert set(refused.value.message_dict) == {"name", "scopes", "expires_at"}
    assert "everything" in refused.value.message_dict["scopes"][0]


def test_a_valid_key_lists_and_updates_last_used_at_most_once_a_minute(bob_key, bob_api):
    key, _ = bob_key
    assert bob_api.get("/api/v1/messages").status_code == HTTPStatus.OK
    key.refresh_from_db()
    first = key.last_used_at
    assert first is not None
    assert bob_api.get("/api/v1/messages").status_code == HTTPStatus.OK
    key.refresh_from_db()
    assert key.last_used_at == first  # within the minute: no second write
    ApiKey.objects.filter(pk=key.pk).update(last_used_at=first - timedelta(minutes=2))
    bob_api.get("/api/v1/messages")
    key.refresh_from_db()
    assert key.last_used_at > first - timedelta(minutes=2)


@pytest.mark.parametrize("header, says", [
    (None, "Send an API key"),
    ("Basic Ym9iOnNlY3JldA==", "Bearer"),
    ("Bearer sb_nonsense", "not valid on this host"),
])
def test_no_key_or_a_wrong_one_is_401_with_a_problem(world, header, says):
    api = Api(BOB_HOST, None)
    response = api.get("/api/v1/messages", **({"Authorization": header} if header else {}))
    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert says in problem(response)["detail"]


def test_a_key_works_only_on_its_clients_host(bob_key, world):
    _, plain = bob_key
    response = Api(CHARLIE_HOST, plain).get("/api/v1/messages")
    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert problem(response)["detail"] == "This key is not valid on this host."
    # On the platform host there is no API at all.
    assert Api(PLATFORM_HOST, plain).get("/api/v1/messages").status_code == HTTPStatus.NOT_FOUND


def test_a_revoked_key_is_refused_at_once_saying_so(bob_key, bob_api):
    key, _ = bob_key
    assert bob_api.get("/api/v1/messages").status_code == HTTPStatus.OK
    assert api_key_revoke(key=key, by="bob") is True
    assert api_key_revoke(key=key, by="bob") is False  # once
    response = bob_api.get("/api/v1/messages")
    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert "revoked" in problem(response)["detail"]


def test_an_expired_key_is_refused_saying_so(world, key_for):
    api = key_for(world.bobs, expires_at=timezone.now() + timedelta(seconds=30))
    assert api.get("/api/v1/messages").status_code == HTTPStatus.OK
    ApiKey.objects.filter(client=world.bobs, name="test").update(expires_at=timezone.now() - timedelta(seconds=1))
    response = api.get("/api/v1/messages")
    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert "expired" in problem(response)["detail"]


@pytest.mark.parametrize("method, path, scopes, missing", [
    ("get", "/api/v1/messages", ["calls:read"], "messages:read"),
    ("post", "/api/v1/messages/1/acknowledge", ["messages:read"], "messages:write"),
    ("get", "/api/v1/calls", ["messages:read"], "calls:read"),
    ("get", "/api/v1/calls/1/recording", ["calls:read"], "recordings:read"),
    ("get", "/api/v1/dnc", ["messages:read"], "compliance:read"),
    ("post", "/api/v1/dnc/add", ["compliance:read"], "compliance:write"),
    ("post", "/api/v1/dnc/remove", ["compliance:read"], "compliance:write"),
    ("post", "/api/v1/consents/add", ["compliance:read"], "compliance:write"),
    ("get", "/api/v1/compliance/check", ["messages:read"], "compliance:read"),
    ("get", "/api/v1/oncall/teams", ["messages:read"], "oncall:read"),
    ("post", "/api/v1/oncall/teams/1/overrides", ["oncall:read"], "oncall:write"),
    ("delete", "/api/v1/oncall/overrides/1", ["oncall:read"], "oncall:write"),
])
def test_a_key_without_the_scope_is_403_naming_it(world, key_for, method, path, scopes, missing):
    api = key_for(world.bobs, scopes=scopes)
    response = getattr(api, method)(path)
    assert response.status_code == HTTPStatus.FORBIDDEN
    assert f"“{missing}”" in problem(response)["detail"]
