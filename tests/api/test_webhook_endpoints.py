"""Webhook endpoints through the API: Bob's CRM adds an endpoint and gets its secret once, changes
it, rotates the secret (both sign during the overlap, as the standardwebhooks package checks),
disables, enables and deletes it, reads its delivery log and sends a delivery again. A private
address is refused naming `url`; scopes are enforced; a retried create makes one endpoint."""

from __future__ import annotations

import json
from http import HTTPStatus

import pytest
from django.db import transaction
from django_tenants.utils import schema_context

from api.models import Scope
from tests.api.conftest import problem
from tests.webhooks.conftest import receiver  # noqa: F401 (fixture: a local HTTP receiver)
from webhooks import services
from webhooks.models import WebhookDelivery, WebhookEndpoint

pytestmark = pytest.mark.django_db


@pytest.fixture
def bobs(world, bob_api, eager_celery, settings, django_capture_on_commit_callbacks):
    """Bob's API, with on-commit hooks run (the hand-off to the inline worker) when asked."""
    settings.OUTBOUND_ALLOW_PRIVATE = True  # the receiver is on 127.0.0.1

    class Bobs:
        api = bob_api

        @staticmethod
        def committed():
            return django_capture_on_commit_callbacks(execute=True)

        @staticmethod
        def emit(type: str = "message.created", data: dict | None = None):
            with schema_context("bobsplumbing"), django_capture_on_commit_callbacks(execute=True):
                with transaction.atomic():
                    return services.event_emit(type, data or {"id": 1})

        @staticmethod
        def add(url: str, **body) -> dict:
            made = bob_api.post("/api/v1/webhook-endpoints", {"url": url, **body})
            assert made.status_code == HTTPStatus.CREATED, made.content
            return json.loads(made.content)

    return Bobs


def _patch(api, path: str, body: dict):
    return api.http.patch(path, json.dumps(body), content_type="application/json", headers=api.headers)


def _body(response) -> dict:
    assert response.status_code < 300, (response.status_code, response.content[:500])
    return json.loads(response.content)


def test_an_endpoint_added_answers_its_secret_once(bobs):
    made = bobs.api.post("/api/v1/webhook-endpoints", {"url": "http://127.0.0.1:9/hooks", "description": "CRM",
                                                       "event_types": ["message.created", "call.completed"]})
    assert made.status_code == HTTPStatus.CREATED and made["Cache-Control"] == "no-store"
    endpoint = json.loads(made.content)
    with schema_context("bobsplumbing"):
        row = WebhookEndpoint.objects.get(pk=endpoint["id"])
    assert endpoint["secret"] == row.secret and row.secret.startswith("whsec_")
    assert (endpoint["url"], endpoint["event_types"], endpoint["active"]) == (
        "http://127.0.0.1:9/hooks", ["message.created", "call.completed"], True)
    listed = bobs.api.get("/api/v1/webhook-endpoints")
    one = bobs.api.get(f"/api/v1/webhook-endpoints/{endpoint['id']}")
    assert [e["id"] for e in _body(listed)["results"]] == [endpoint["id"]]
    assert _body(one)["description"] == "CRM"
    for answer in (listed, one):
        assert row.secret.encode() not in answer.content and b'"secret"' not in answer.content


@pytest.mark.parametrize("url", ["http://127.0.0.1:8099/", "http://169.254.169.254/latest/", "http://localhost/",
                                 "http://10.0.0.5/hooks"])
def test_a_private_address_is_refused_naming_url(bobs, settings, url):
    settings.OUTBOUND_ALLOW_PRIVATE = False  # production's rule
    refused = bobs.api.post("/api/v1/webhook-endpoints", {"url": url})
    assert refused.status_code == HTTPStatus.BAD_REQUEST
    errors = problem(refused)["errors"]
    assert [e["field"] for e in errors] == ["url"] and "public addresses only" in errors[0]["message"]
    with schema_context("bobsplumbing"):
        assert not WebhookEndpoint.objects.exists()


def test_bad_input_is_refused_field_by_field(bobs):
    refused = bobs.api.post("/api/v1/webhook-endpoints", {"url": "not a url", "event_types": ["no.such.event"]})
    assert {e["field"] for e in problem(refused)["errors"]} == {"url", "event_types.0"}
    refused = bobs.api.post("/api/v1/webhook-endpoints", {"url": "ftp://127.0.0.1/x"})
    assert [e["field"] for e in problem(refused)["errors"]] == ["url"]
    with schema_context("bobsplumbing"):
        assert not WebhookEndpoint.objects.exists()


def test_a_change_touches_only_what_is_given_and_is_checked_like_an_add(bobs, settings):
    endpoint = bobs.add("http://127.0.0.1:9/hooks", description="CRM", event_types=["message.created"])
    path = f"/api/v1/webhook-endpoints/{endpoint['id']}"
    changed = _body(_patch(bobs.api, path, {"event_types": []}))
    assert (changed["event_types"], changed["description"], changed["url"]) == ([], "CRM", endpoint["url"])
    settings.OUTBOUND_ALLOW_PRIVATE = False
    refused = _patch(bobs.api, path, {"url": "http://169.254.169.254/"})
    assert refused.status_code == HTTPStatus.BAD_REQUEST and problem(refused)["errors"][0]["field"] == "url"
    with schema_context("bobsplumbing"):
        assert WebhookEndpoint.objects.get(pk=endpoint["id"]).url == endpoint["url"]


def test_after_a_rotation_both_secrets_sign_and_the_new_one_is_answered_once(bobs, receiver):  # noqa: F811
    endpoint = bobs.add(receiver.url)
    rotated = bobs.api.post(f"/api/v1/webhook-endpoints/{endpoint['id']}/rotate-secret")
    new = _body(rotated)
    assert rotated["Cache-Control"] == "no-store"
    assert new["secret"].startswith("whsec_") and new["secret"] != endpoint["secret"] and new["rotating_until"]
    assert new["secret"].encode() not in bobs.api.get(f"/api/v1/webhook-endpoints/{endpoint['id']}").content
    bobs.emit("message.created", {"id": 7})
    [request] = receiver.received
    assert request.verify(new["secret"])["data"] == {"id": 7}
    assert request.verify(endpoint["secret"])["data"] == {"id": 7}  # the receiver may not have switched yet


def test_the_delivery_log_a_delivery_and_send_again(bobs, receiver):  # noqa: F811
    endpoint = bobs.add(receiver.url)
    receiver.answer(503)
    bobs.emit("message.created", {"id": 8})
    bobs.emit("call.completed", {"call_sid": "CA1"})
    log = _body(bobs.api.get(f"/api/v1/webhook-endpoints/{endpoint['id']}/deliveries", {"limit": 1}))
    assert len(log["results"]) == 1 and log["next"]
    newest = log["results"][0]
    assert (newest["type"], newest["status"]) == ("call.completed", "succeeded")
    failed = _body(bobs.api.get(f"/api/v1/webhook-endpoints/{endpoint['id']}/deliveries",
                                {"status": "queued"}))["results"]
    assert [d["type"] for d in failed] == ["message.created"]
    one = _body(bobs.api.get(f"/api/v1/webhook-deliveries/{failed[0]['id']}"))
    assert (one["tries"], one["last_status_code"], one["last_error"], one["data"]) == (1, 503, "Answered 503",
                                                                                       {"id": 8})
    assert one["next_at"] and one["event_id"].startswith("msg_")
    with bobs.committed():
        again = bobs.api.post(f"/api/v1/webhook-deliveries/{one['id']}/resend")
    assert again.status_code == HTTPStatus.ACCEPTED, again.content
    assert [r.headers["webhook-id"] for r in receiver.received].count(one["event_id"]) == 2  # the same id again
    done = _body(bobs.api.get(f"/api/v1/webhook-deliveries/{one['id']}"))
    assert (done["status"], done["tries"], done["last_status_code"], done["next_at"]) == ("succeeded", 2, 200, None)
    assert problem(bobs.api.get(f"/api/v1/webhook-endpoints/{endpoint['id']}/deliveries",
                                {"status": "lost"}))["errors"][0]["field"] == "status"


def test_disable_cancels_what_is_queued_refuses_a_resend_and_enable_sends_again(bobs, receiver):  # noqa: F811
    endpoint = bobs.add(receiver.url)
    receiver.answer(500)
    bobs.emit("message.created", {"id": 9})
    path = f"/api/v1/webhook-endpoints/{endpoint['id']}"
    disabled = _body(bobs.api.post(f"{path}/disable"))
    assert disabled["active"] is False and disabled["disabled_reason"].startswith("Disabled by API key sb_")
    assert _body(bobs.api.post(f"{path}/disable"))["disabled_reason"] == disabled["disabled_reason"]  # no change
    with schema_context("bobsplumbing"):
        delivery = WebhookDelivery.objects.get(endpoint_id=endpoint["id"])
    assert delivery.status == WebhookDelivery.Status.CANCELLED
    refused = bobs.api.post(f"/api/v1/webhook-deliveries/{delivery.pk}/resend")
    assert refused.status_code == HTTPStatus.CONFLICT and "disabled" in problem(refused)["detail"]
    bobs.emit("message.created", {"id": 10})
    assert len(receiver.received) == 1  # nothing goes to a disabled endpoint
    assert _body(bobs.api.post(f"{path}/enable"))["active"] is True
    with bobs.committed():
        assert bobs.api.post(f"/api/v1/webhook-deliveries/{delivery.pk}/resend").status_code == HTTPStatus.ACCEPTED
    assert json.loads(receiver.received[-1].body)["data"] == {"id": 9}


def test_delete_takes_the_endpoint_and_its_log(bobs, receiver):  # noqa: F811
    endpoint = bobs.add(receiver.url)
    bobs.emit()
    path = f"/api/v1/webhook-endpoints/{endpoint['id']}"
    assert bobs.api.delete(path).status_code == HTTPStatus.NO_CONTENT
    with schema_context("bobsplumbing"):
        assert not WebhookEndpoint.objects.filter(pk=endpoint["id"]).exists()
        assert not WebhookDelivery.objects.exists()
    assert problem(bobs.api.get(path))["status"] == 404
    assert problem(bobs.api.delete(path))["status"] == 404


def test_a_retried_create_makes_one_endpoint_and_answers_the_same_secret(bobs):
    first = bobs.api.post("/api/v1/webhook-endpoints", {"url": "http://127.0.0.1:9/a"}, HTTP_IDEMPOTENCY_KEY="k-1")
    again = bobs.api.post("/api/v1/webhook-endpoints", {"url": "http://127.0.0.1:9/a"}, HTTP_IDEMPOTENCY_KEY="k-1")
    assert again["Idempotent-Replayed"] == "true" and json.loads(again.content) == json.loads(first.content)
    with schema_context("bobsplumbing"):
        assert WebhookEndpoint.objects.count() == 1


def test_scopes_read_and_write(bobs, key_for, world):
    reader = key_for(world.bobs, scopes=[Scope.WEBHOOKS_READ])
    endpoint = bobs.add("http://127.0.0.1:9/hooks")
    assert reader.get("/api/v1/webhook-endpoints").status_code == HTTPStatus.OK
    path = f"/api/v1/webhook-endpoints/{endpoint['id']}"
    for response in (reader.post("/api/v1/webhook-endpoints", {"url": "http://127.0.0.1:9/b"}),
                     reader.post(f"{path}/rotate-secret"), reader.post(f"{path}/disable"), reader.delete(path),
                     _patch(reader, path, {"description": "x"})):
        assert response.status_code == HTTPStatus.FORBIDDEN and "webhooks:write" in problem(response)["detail"]
    stranger = key_for(world.bobs, scopes=[Scope.MESSAGES_READ])
    assert "webhooks:read" in problem(stranger.get("/api/v1/webhook-endpoints"))["detail"]
    with schema_context("bobsplumbing"):
        kept = WebhookEndpoint.objects.get(pk=endpoint["id"])
        assert (kept.secret, kept.active, WebhookEndpoint.objects.count()) == (endpoint["secret"], True, 1)
