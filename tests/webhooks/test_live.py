"""Event webhooks with real processes: a Celery worker sends a committed event to a local
receiver, signed so that the standardwebhooks package accepts it; and two workers racing for
one delivery send it once.

A client of this module's own, provisioned for it and dropped afterwards: what is committed here
never reaches the other tests' clients."""

from __future__ import annotations

import threading

import pytest
from django.db import connection, connections, transaction
from django_tenants.utils import schema_context

from tenants import services as tenant_services
from tenants.models import Client
from tests.conftest import until
from webhooks import sending, services
from webhooks.models import WebhookDelivery

pytestmark = pytest.mark.processes
SLUG = "hooklive"


@pytest.fixture(scope="module")
def hooks_client(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        client = tenant_services.client_provision(name="Hooks Live Ltd", slug=SLUG, time_zone="America/New_York",
                                                  domain=f"{SLUG}.localhost")
    try:
        yield client
    finally:
        with django_db_blocker.unblock():
            connection.set_schema_to_public()
            Client.objects.get(schema_name=SLUG).delete(force_drop=True)


def test_a_worker_sends_a_committed_event_that_verifies(hooks_client, celery_worker, receiver, django_db_blocker,
                                                        settings):
    settings.OUTBOUND_ALLOW_PRIVATE = True
    with django_db_blocker.unblock(), schema_context(SLUG):
        endpoint = services.endpoint_create(url=receiver.url)
        with transaction.atomic():
            event = services.event_emit("message.created", {"id": 1, "problem": "No heat"})
    [request] = until(lambda: receiver.received, "the worker's POST", timeout=20)
    payload = request.verify(endpoint.secret)
    assert payload["data"]["problem"] == "No heat" and request.headers["webhook-id"] == event.event_id
    with django_db_blocker.unblock(), schema_context(SLUG):
        until(lambda: WebhookDelivery.objects.get(message=event).status == "succeeded", "recorded as succeeded")


def test_two_workers_racing_for_one_delivery_send_it_once(hooks_client, receiver, django_db_blocker, settings,
                                                          monkeypatch):
    settings.OUTBOUND_ALLOW_PRIVATE = True
    monkeypatch.setattr(services, "deliver_soon", lambda *args, **kwargs: None)  # we are the workers
    receiver.delay = 0.5  # a slow receiver: the second worker arrives mid-send
    with django_db_blocker.unblock():
        with schema_context(SLUG):
            race = services.endpoint_create(url=receiver.url + "/race")
            with transaction.atomic():
                event = services.event_emit("message.created", {"id": 2})
            delivery = WebhookDelivery.objects.get(message=event, endpoint=race)
        outcomes: list[str] = []

        def worker() -> None:
            try:
                with schema_context(SLUG):
                    outcomes.append(sending.webhook_deliver(delivery_id=delivery.pk, client=hooks_client))
            finally:
                connections.close_all()

        threads = [threading.Thread(target=worker) for _ in range(4)]
        for thread in threads:
            thread.start()
        for thread in threads:
            thread.join(30)
        with schema_context(SLUG):
            delivery.refresh_from_db()
    assert len([r for r in receiver.received if r.path == "/hooks/race"]) == 1
    assert sorted(outcomes).count("succeeded") == 1 and len(outcomes) == 4
    assert (delivery.status, delivery.tries) == ("succeeded", 1)
