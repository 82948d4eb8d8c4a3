"""Every webhook we send is verified by the standardwebhooks package (an implementation of the
spec independent of ours): the body, the three headers, a rotation's two signatures, and each
retry re-signed with a fresh timestamp under the same webhook-id."""

from __future__ import annotations

import json
from datetime import timedelta

import pytest
import time_machine
from django.utils import timezone
from standardwebhooks.webhooks import WebhookVerificationError

from webhooks import sending, services
from webhooks.models import WebhookDelivery, secret_new

pytestmark = pytest.mark.django_db


def test_a_webhook_verifies_with_the_standardwebhooks_package(bobs, receiver):
    endpoint = bobs.endpoint(receiver.url)
    assert endpoint.secret.startswith("whsec_")
    event = bobs.emit("message.created", {"id": 42, "urgency": "urgent", "fields": {"problem": "No heat — ¡frío!"}})
    [request] = receiver.received
    payload = request.verify(endpoint.secret)
    assert payload["type"] == "message.created" and payload["data"]["fields"]["problem"] == "No heat — ¡frío!"
    assert payload["timestamp"].endswith("Z")
    assert request.headers["webhook-id"] == event.event_id and event.event_id.startswith("msg_")
    assert abs(int(request.headers["webhook-timestamp"]) - timezone.now().timestamp()) < 60
    assert WebhookDelivery.objects.get(message=event).status == "succeeded"


def test_another_secret_does_not_verify(bobs, receiver):
    bobs.endpoint(receiver.url)
    bobs.emit()
    [request] = receiver.received
    with pytest.raises(WebhookVerificationError):
        request.verify(secret_new())


def test_a_tampered_body_does_not_verify(bobs, receiver):
    endpoint = bobs.endpoint(receiver.url)
    bobs.emit("contact.opted_out", {"number": "+12125550100"})
    [request] = receiver.received
    request.body = request.body.replace(b"0100", b"0199")
    with pytest.raises(WebhookVerificationError):
        request.verify(endpoint.secret)


def test_during_a_rotation_both_the_new_and_the_old_secret_verify(bobs, receiver):
    endpoint = bobs.endpoint(receiver.url)
    old = endpoint.secret
    new = services.endpoint_secret_rotate(endpoint=endpoint)
    assert new != old and new.startswith("whsec_")
    bobs.emit()
    [request] = receiver.received
    signatures = request.headers["webhook-signature"].split(" ")
    assert len(signatures) == 2 and all(s.startswith("v1,") for s in signatures)
    assert request.verify(new)["type"] == "message.created"
    assert request.verify(old)["type"] == "message.created"  # a receiver not yet switched keeps working


def test_after_the_overlap_only_the_new_secret_signs(bobs, receiver):
    endpoint = bobs.endpoint(receiver.url)
    old = endpoint.secret
    new = services.endpoint_secret_rotate(endpoint=endpoint, overlap=timedelta(hours=1))
    with time_machine.travel(timezone.now() + timedelta(hours=2), tick=False):
        bobs.emit()
        [request] = receiver.received
        assert len(request.headers["webhook-signature"].split(" ")) == 1
        request.verify(new)
        with pytest.raises(WebhookVerificationError):
            request.verify(old)


def test_a_retry_is_signed_again_with_a_new_timestamp_and_the_same_id(bobs, receiver):
    endpoint = bobs.endpoint(receiver.url)
    receiver.answer(500)
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        event = bobs.emit()
    delivery = WebhookDelivery.objects.get(message=event)
    assert (delivery.status, delivery.tries, delivery.last_status_code) == ("queued", 1, 500)
    assert delivery.next_at == start + timedelta(seconds=5)  # the spec's schedule: then 5 s
    with time_machine.travel(start + timedelta(seconds=6), tick=False):
        with bobs.commit():
            assert sending.webhook_deliver(delivery_id=delivery.pk) == "succeeded"
        first, second = receiver.received
        assert first.headers["webhook-id"] == second.headers["webhook-id"] == event.event_id
        assert int(second.headers["webhook-timestamp"]) - int(first.headers["webhook-timestamp"]) == 6
        assert first.headers["webhook-signature"] != second.headers["webhook-signature"]
        assert first.body == second.body  # the same event: only the signature's timestamp moved
        assert second.verify(endpoint.secret)["data"] == {"id": 1}
        with pytest.raises(WebhookVerificationError):
            # Replaying the first try's headers with the second's timestamp fails: the
            # signature covers the timestamp.
            first.headers["webhook-timestamp"] = second.headers["webhook-timestamp"]
            first.verify(endpoint.secret)
    delivery.refresh_from_db()
    assert (delivery.status, delivery.tries) == ("succeeded", 2)


def test_the_body_is_type_timestamp_and_data(bobs, receiver):
    bobs.endpoint(receiver.url)
    bobs.emit("campaign.completed", {"id": 7, "state": "completed"})
    assert set(json.loads(receiver.received[0].body)) == {"type", "timestamp", "data"}
