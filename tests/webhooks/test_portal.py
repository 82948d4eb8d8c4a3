"""The portal's Webhooks pages: Bob (Bob's Plumbing's admin) adds an endpoint and sees its secret
once, rotates it, disables, enables and deletes it, reads its delivery log and sends a delivery
again; bad input is answered field by field. Bea (a client user) gets none of it; Charlie, on his
own host, never sees nor touches Bob's endpoints — and never gets Bob's events."""

from __future__ import annotations

import re
from http import HTTPStatus

import pytest
from django.db import connection, transaction
from django_tenants.utils import schema_context

from tests.conftest import BOB_HOST, CHARLIE_HOST
from webhooks import services
from webhooks.models import WebhookDelivery, WebhookEndpoint

pytestmark = pytest.mark.django_db


@pytest.fixture
def bob(world, logged_in, settings, eager_celery):
    settings.OUTBOUND_ALLOW_PRIVATE = True
    return logged_in(world.bob, BOB_HOST)


@pytest.fixture
def bea(world, logged_in):
    return logged_in(world.bea, BOB_HOST)


@pytest.fixture
def charlie(world, logged_in):
    return logged_in(world.charlie, CHARLIE_HOST)


def _secret_on(page: bytes) -> str:
    found = re.search(rb'value="(whsec_[A-Za-z0-9+/=]+)"', page)
    return found.group(1).decode() if found else ""


def _add(bob, url: str, events=()) -> WebhookEndpoint:
    answer = bob.post("/webhooks/", {"url": url, "description": "Dispatch board", "event_types": list(events)})
    assert answer.status_code == HTTPStatus.FOUND, answer.content.decode()[:2000]
    with schema_context("bobsplumbing"):
        return WebhookEndpoint.objects.order_by("-pk").first()


def test_an_admin_adds_an_endpoint_and_sees_its_secret_once(bob, receiver):
    endpoint = _add(bob, receiver.url, ["message.created", "call.completed"])
    assert endpoint.event_types == ["message.created", "call.completed"]
    first = bob.get(f"/webhooks/{endpoint.pk}/")
    assert first.status_code == HTTPStatus.OK and _secret_on(first.content) == endpoint.secret
    again = bob.get(f"/webhooks/{endpoint.pk}/")
    assert _secret_on(again.content) == "" and endpoint.secret.encode() not in again.content
    listed = bob.get("/webhooks/")
    assert receiver.url.encode() in listed.content and endpoint.secret.encode() not in listed.content


def test_bad_input_is_answered_field_by_field(bob, settings):
    settings.OUTBOUND_ALLOW_PRIVATE = False
    answer = bob.post("/webhooks/", {"url": "http://169.254.169.254/latest/", "event_types": ["message.created"]})
    assert answer.status_code == HTTPStatus.BAD_REQUEST
    assert b"169.254.169.254 is a link-local address" in answer.content
    answer = bob.post("/webhooks/", {"url": "not a url", "event_types": ["no.such.event"]})
    assert answer.status_code == HTTPStatus.BAD_REQUEST
    assert b"Enter a valid URL" in answer.content and b"no.such.event is not one of the available choices" in answer.content
    with schema_context("bobsplumbing"):
        assert not WebhookEndpoint.objects.exists()


def test_rotating_shows_the_new_secret_once_and_keeps_the_old_signing(bob, receiver):
    endpoint = _add(bob, receiver.url)
    assert bob.post(f"/webhooks/{endpoint.pk}/rotate").status_code == HTTPStatus.FOUND
    page = bob.get(f"/webhooks/{endpoint.pk}/")
    with schema_context("bobsplumbing"):
        endpoint.refresh_from_db()
    assert _secret_on(page.content) == endpoint.secret and endpoint.previous_secret and b"Rotating" in page.content


def test_disable_enable_delete(bob, receiver):
    endpoint = _add(bob, receiver.url)
    bob.post(f"/webhooks/{endpoint.pk}/disable")
    with schema_context("bobsplumbing"):
        endpoint.refresh_from_db()
        assert not endpoint.active and endpoint.disabled_reason == "Disabled by Bob Builder."
    assert b"Disabled" in bob.get(f"/webhooks/{endpoint.pk}/").content
    bob.post(f"/webhooks/{endpoint.pk}/enable")
    with schema_context("bobsplumbing"):
        endpoint.refresh_from_db()
        assert endpoint.active and endpoint.disabled_reason == ""
    assert bob.post(f"/webhooks/{endpoint.pk}/delete").status_code == HTTPStatus.FOUND
    with schema_context("bobsplumbing"):
        assert not WebhookEndpoint.objects.exists()


def test_the_delivery_log_and_send_again(bob, receiver, django_capture_on_commit_callbacks):
    endpoint = _add(bob, receiver.url)
    receiver.answer(503)
    with schema_context("bobsplumbing"), django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        event = services.event_emit("message.created", {"id": 5})
    page = bob.get(f"/webhooks/{endpoint.pk}/")
    assert event.event_id.encode() in page.content and b"503" in page.content and b"Queued" in page.content
    with schema_context("bobsplumbing"):
        delivery = WebhookDelivery.objects.get(message=event)
    with django_capture_on_commit_callbacks(execute=True):
        assert bob.post(f"/webhooks/deliveries/{delivery.pk}/resend").status_code == HTTPStatus.FOUND
    connection.set_schema_to_public()
    with schema_context("bobsplumbing"):
        delivery.refresh_from_db()
    assert (delivery.status, delivery.tries, len(receiver.received)) == ("succeeded", 2, 2)
    assert b"Succeeded" in bob.get(f"/webhooks/{endpoint.pk}/").content


def test_a_client_user_gets_none_of_it(bob, bea, receiver):
    endpoint = _add(bob, receiver.url)
    for url in ("/webhooks/", f"/webhooks/{endpoint.pk}/"):
        assert bea.get(url).status_code == HTTPStatus.FORBIDDEN
    assert bea.post(f"/webhooks/{endpoint.pk}/delete").status_code == HTTPStatus.FORBIDDEN
    assert b"/webhooks/" not in bea.get("/messages/").content  # no nav link either
    with schema_context("bobsplumbing"):
        assert WebhookEndpoint.objects.filter(pk=endpoint.pk).exists()


def test_charlie_never_sees_nor_touches_bobs_endpoints(bob, charlie, receiver):
    endpoint = _add(bob, receiver.url)
    with schema_context("bobsplumbing"), transaction.atomic():
        event = services.event_emit("message.created", {"id": 5})
        delivery = WebhookDelivery.objects.get(message=event)
    with schema_context("charlieclinic"):
        assert not WebhookEndpoint.objects.filter(pk=endpoint.pk).exists()  # a 404 below is isolation, not luck
    assert receiver.url.encode() not in charlie.get("/webhooks/").content
    for action in ("", "rotate", "disable", "enable", "delete"):
        answer = charlie.post(f"/webhooks/{endpoint.pk}/{action}") if action else charlie.get(f"/webhooks/{endpoint.pk}/")
        assert answer.status_code == HTTPStatus.NOT_FOUND
    assert charlie.post(f"/webhooks/deliveries/{delivery.pk}/resend").status_code == HTTPStatus.NOT_FOUND
    # And on Bob's host, Charlie is nobody.
    assert bob.get("/webhooks/").status_code == HTTPStatus.OK


def test_one_clients_events_never_reach_anothers_endpoints(world, settings, eager_celery, receiver,
                                                           django_capture_on_commit_callbacks):
    settings.OUTBOUND_ALLOW_PRIVATE = True
    with schema_context("bobsplumbing"):
        bobs = services.endpoint_create(url=receiver.url + "/bob")
    with schema_context("charlieclinic"):
        charlies = services.endpoint_create(url=receiver.url + "/charlie")
        with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
            services.event_emit("message.created", {"id": 77, "client": "charlie"})
    # From another schema's connection too: the ACD (public schema) names the client.
    with django_capture_on_commit_callbacks(execute=True), transaction.atomic():
        services.event_emit("call.completed", {"call_sid": "CA-charlie"}, client=world.charlies)
    assert [r.path for r in receiver.received] == ["/hooks/charlie", "/hooks/charlie"]
    assert [r.verify(charlies.secret)["type"] for r in receiver.received] == ["message.created", "call.completed"]
    with schema_context("bobsplumbing"):
        assert not WebhookDelivery.objects.filter(endpoint=bobs).exists()
