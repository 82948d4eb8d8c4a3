"""Idempotency-Key: a retried POST returns the first answer and does nothing twice — also when the
retries arrive together, on threads of their own (real transactions, committed data)."""

from __future__ import annotations

import json
import threading
import uuid
from http import HTTPStatus

import pytest
from django.db import connection, connections
from django_tenants.utils import schema_context

from api.models import ApiKey
from api.services.keys import api_key_create
from compliance.models import Consent
from tenants import services
from tenants.models import Client
from tests.api.conftest import ALL_SCOPES, Api, problem

SLUG = "apiidem"
HOST = f"{SLUG}.localhost"
CONSENT = {"number": "2125550190", "kind": "express", "source": "web_form", "obtained_at": "2026-01-05T15:00:00Z"}


@pytest.mark.django_db
def test_a_retry_returns_the_first_answer_and_records_once(bob_api):
    key = str(uuid.uuid4())
    first = bob_api.post("/api/v1/consents/add", CONSENT, HTTP_IDEMPOTENCY_KEY=key)
    again = bob_api.post("/api/v1/consents/add", CONSENT, HTTP_IDEMPOTENCY_KEY=key)
    assert first.status_code == again.status_code == HTTPStatus.CREATED
    assert json.loads(first.content) == json.loads(again.content)
    assert again["Idempotent-Replayed"] == "true"
    assert first["Content-Type"] == again["Content-Type"] == "application/json"
    with schema_context("bobsplumbing"):
        assert Consent.objects.filter(number="+12125550190").count() == 1
    # Without the header, each POST is its own.
    bob_api.post("/api/v1/consents/add", CONSENT)
    with schema_context("bobsplumbing"):
        assert Consent.objects.filter(number="+12125550190").count() == 2


@pytest.mark.django_db
def test_a_key_reused_with_another_body_is_422(bob_api):
    key = str(uuid.uuid4())
    bob_api.post("/api/v1/dnc/add", {"number": "2125550191"}, HTTP_IDEMPOTENCY_KEY=key)
    response = bob_api.post("/api/v1/dnc/add", {"number": "2125550192"}, HTTP_IDEMPOTENCY_KEY=key)
    assert response.status_code == HTTPStatus.UNPROCESSABLE_ENTITY
    assert problem(response)["title"] == "Idempotency-Key reused with another request"


@pytest.mark.django_db
def test_a_refusal_is_remembered_too_and_keys_are_per_api_key(bob_api, world, key_for):
    key = str(uuid.uuid4())
    refused = bob_api.post("/api/v1/dnc/add", {"number": "banana"}, HTTP_IDEMPOTENCY_KEY=key)
    assert refused.status_code == HTTPStatus.BAD_REQUEST
    replayed = bob_api.post("/api/v1/dnc/add", {"number": "banana"}, HTTP_IDEMPOTENCY_KEY=key)
    assert replayed["Idempotent-Replayed"] == "true"
    assert refused["Content-Type"] == replayed["Content-Type"] == "application/problem+json"
    assert json.loads(replayed.content) == json.loads(refused.content)
    other = key_for(world.bobs).post("/api/v1/dnc/add", {"number": "2125550193"}, HTTP_IDEMPOTENCY_KEY=key)
    assert other.status_code == HTTPStatus.CREATED  # another API key's Idempotency-Key space


@pytest.mark.django_db
def test_a_malformed_idempotency_key_is_400(bob_api):
    response = bob_api.post("/api/v1/dnc/add", {"number": "2125550194"}, HTTP_IDEMPOTENCY_KEY="x" * 300)
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert problem(response)["errors"][0]["field"] == "Idempotency-Key"


@pytest.fixture(scope="module")
def committed(django_db_setup, django_db_blocker):
    """A client of this module's own with a key (committed: the threads' connections see them)."""
    with django_db_blocker.unblock():
        client = services.client_provision(name="Idempotent Inc", slug=SLUG, time_zone="America/New_York",
                                           domain=HOST)
        _, plain = api_key_create(client=client, name="retrying system", scopes=ALL_SCOPES, expires_at=None, by="t")
    try:
        yield plain
    finally:
        with django_db_blocker.unblock():
            connection.set_schema_to_public()
            ApiKey.objects.filter(client__schema_name=SLUG).delete()
            Client.objects.get(schema_name=SLUG).delete(force_drop=True)


def test_concurrent_retries_make_one_consent_and_get_one_answer(committed, django_db_blocker):
    key = str(uuid.uuid4())
    answers: list = []
    start = threading.Barrier(8)

    def retry():
        try:
            api = Api(HOST, committed)
            start.wait()
            response = api.post("/api/v1/consents/add", CONSENT, HTTP_IDEMPOTENCY_KEY=key)
            answers.append((response.status_code, json.loads(response.content)))
        finally:
            connections.close_all()

    with django_db_blocker.unblock():
        threads = [threading.Thread(target=retry) for _ in range(8)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        assert len(answers) == 8
        assert {status for status, _ in answers} == {HTTPStatus.CREATED}, answers
        assert len({json.dumps(body, sort_keys=True) for _, body in answers}) == 1
        with schema_context(SLUG):
            assert Consent.objects.filter(number="+12125550190").count() == 1


def test_a_retry_after_a_failure_runs_again(committed, django_db_blocker, monkeypatch):
    """A 5xx keeps nothing: not the effects (rolled back with the answer), not the key."""
    from api.views import compliance

    calls = []
    real = compliance.services.consent_record

    def flaky(**kwargs):
        calls.append(1)
        made = real(**kwargs)
        if len(calls) == 1:
            raise RuntimeError("the disk is full")
        return made

    monkeypatch.setattr(compliance.services, "consent_record", flaky)
    key = str(uuid.uuid4())
    body = {**CONSENT, "number": "2125550195"}
    with django_db_blocker.unblock():
        api = Api(HOST, committed)
        assert api.post("/api/v1/consents/add", body, HTTP_IDEMPOTENCY_KEY=key).status_code == 500
        with schema_context(SLUG):
            assert not Consent.objects.filter(number="+12125550195").exists()
        assert api.post("/api/v1/consents/add", body, HTTP_IDEMPOTENCY_KEY=key).status_code == HTTPStatus.CREATED
        with schema_context(SLUG):
            assert Consent.objects.filter(number="+12125550195").count() == 1
