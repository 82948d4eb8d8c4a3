"""Sending: an event exists only if its change committed; one delivery per endpoint, sent once
per try however often a worker runs; retries on the spec's schedule; 410 disables at once;
days of failure disable with an email to the client's admins; "send again"."""

from __future__ import annotations

from datetime import timedelta

import pytest
import time_machine
from django.core import mail
from django.db import transaction
from django.utils import timezone

from answering.acd.models import OutboxTimer
from webhooks import sending, services
from webhooks.models import WebhookDelivery, WebhookEndpoint, WebhookMessage

pytestmark = pytest.mark.django_db


class Boom(Exception):
    pass


def test_an_event_of_a_rolled_back_change_is_never_sent(bobs, receiver):
    bobs.endpoint(receiver.url)
    with bobs.commit():
        with pytest.raises(Boom), transaction.atomic():
            services.event_emit("message.created", {"id": 1}, subject="message:1")
            raise Boom
    assert receiver.received == []
    assert not WebhookMessage.objects.exists() and not WebhookDelivery.objects.exists()
    assert not OutboxTimer.objects.filter(client=bobs.client, kind="webhook").exists()


def test_nothing_is_written_when_no_endpoint_wants_the_event(bobs, receiver):
    bobs.endpoint(receiver.url, event_types=["call.completed"])
    assert bobs.emit("message.created") is None
    assert not WebhookMessage.objects.exists() and receiver.received == []


def test_each_endpoint_gets_only_the_events_it_subscribed_to(bobs, receiver):
    calls = bobs.endpoint(receiver.url + "/calls", event_types=["call.completed"])
    every = bobs.endpoint(receiver.url + "/all")
    bobs.emit("call.completed", {"call_sid": "CA1"})
    bobs.emit("message.acknowledged", {"id": 3})
    got = sorted((r.path, r.verify(calls.secret if r.path.endswith("calls") else every.secret)["type"])
                 for r in receiver.received)
    assert got == [("/hooks/all", "call.completed"), ("/hooks/all", "message.acknowledged"),
                   ("/hooks/calls", "call.completed")]


def test_a_worker_running_twice_sends_once(bobs, receiver):
    bobs.endpoint(receiver.url)
    event = bobs.emit()
    delivery = WebhookDelivery.objects.get(message=event)
    assert sending.webhook_deliver(delivery_id=delivery.pk) == "final"
    assert sending.webhook_deliver(delivery_id=delivery.pk) == "final"
    assert len(receiver.received) == 1
    assert WebhookDelivery.objects.filter(message=event).count() == 1
    assert not OutboxTimer.objects.filter(client=bobs.client, kind="webhook", object_id=delivery.pk).exists()


def test_a_try_in_flight_is_not_sent_again_and_a_crashed_one_is_after_its_lease(bobs, receiver):
    bobs.endpoint(receiver.url)
    with transaction.atomic():  # no on-commit hand-off: we play the workers
        event = services.event_emit("message.created", {"id": 1})
    delivery = WebhookDelivery.objects.get(message=event)
    # A worker claimed it and is sending (or died sending): the lease holds others off.
    WebhookDelivery.objects.filter(pk=delivery.pk).update(status="sending", tries=1,
                                                          lease_until=timezone.now() + timedelta(seconds=60))
    assert sending.webhook_deliver(delivery_id=delivery.pk) == "busy"
    assert receiver.received == []
    # Its lease ran out (the worker crashed mid-send): the next try goes, with the same id.
    with time_machine.travel(timezone.now() + timedelta(seconds=61), tick=False), bobs.commit():
        assert sending.webhook_deliver(delivery_id=delivery.pk) == "succeeded"
    [request] = receiver.received
    assert request.headers["webhook-id"] == event.event_id
    delivery.refresh_from_db()
    assert (delivery.status, delivery.tries) == ("succeeded", 2)


def test_a_late_answer_of_a_superseded_try_changes_nothing(bobs, receiver):
    bobs.endpoint(receiver.url)
    with transaction.atomic():
        event = services.event_emit("message.created", {"id": 1})
    delivery = WebhookDelivery.objects.select_related("message", "endpoint").get(message=event)
    delivery.tries = 1  # what the first worker claimed …
    WebhookDelivery.objects.filter(pk=delivery.pk).update(status="sending", tries=2)  # … and a second took over
    assert sending._record(delivery, sending.Answer(code=500), client=bobs.client) == "superseded"
    assert WebhookDelivery.objects.get(pk=delivery.pk).status == "sending"


def test_the_back_off_follows_the_spec_and_ends_after_about_three_days(bobs, receiver):
    bobs.endpoint(receiver.url)
    receiver.answer(*[503] * 20)
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        event = bobs.emit()
    delivery = WebhookDelivery.objects.get(message=event)
    at, waits = start, []
    while delivery.status == "queued":
        waits.append(delivery.next_at - at)
        at = delivery.next_at
        with time_machine.travel(at, tick=False), bobs.commit():
            sending.webhook_deliver(delivery_id=delivery.pk)
        delivery.refresh_from_db()
    assert [w.total_seconds() for w in waits[:7]] == [5, 300, 1800, 7200, 18000, 36000, 36000]
    assert delivery.status == "failed" and delivery.tries == sending.MAX_TRIES == len(receiver.received)
    total = at - start
    assert timedelta(days=2.5) < total < timedelta(days=3.5)
    assert len({r.headers["webhook-timestamp"] for r in receiver.received}) == sending.MAX_TRIES  # each re-signed


def test_410_gone_disables_the_endpoint_at_once(bobs, receiver):
    endpoint = bobs.endpoint(receiver.url)
    receiver.answer(410)
    event = bobs.emit()
    delivery = WebhookDelivery.objects.get(message=event)
    assert (delivery.status, delivery.tries, delivery.last_status_code) == ("failed", 1, 410)
    endpoint.refresh_from_db()
    assert not endpoint.active and "410" in endpoint.disabled_reason and endpoint.disabled_at
    assert bobs.emit() is None  # disabled: new events are not even written for it
    assert len(receiver.received) == 1


def test_an_endpoint_failing_for_days_is_disabled_and_the_admins_are_emailed(bobs, receiver, settings):
    settings.WEBHOOK_DISABLE_AFTER_DAYS = 5
    endpoint = bobs.endpoint(receiver.url)
    receiver.answer(*[500] * 10)
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        first = bobs.emit()
    endpoint.refresh_from_db()
    assert endpoint.active and endpoint.failing_since == start
    with time_machine.travel(start + timedelta(days=4), tick=False):
        bobs.emit()
    endpoint.refresh_from_db()
    assert endpoint.active and mail.outbox == []  # four days: still trying
    with time_machine.travel(start + timedelta(days=5, minutes=1), tick=False):
        bobs.emit()
    endpoint.refresh_from_db()
    assert not endpoint.active and "5 days" in endpoint.disabled_reason
    [email] = mail.outbox
    assert email.to == ["bob@bobs.test"] and endpoint.url in email.subject
    # What was still waiting for a retry is cancelled (each can be sent again once enabled).
    assert WebhookDelivery.objects.get(message=first).status == "cancelled"


def test_a_success_restarts_the_failure_clock(bobs, receiver, settings):
    endpoint = bobs.endpoint(receiver.url)
    receiver.answer(500)
    start = timezone.now()
    with time_machine.travel(start, tick=False):
        bobs.emit()
    with time_machine.travel(start + timedelta(days=3), tick=False):
        bobs.emit()  # answered 200
    endpoint.refresh_from_db()
    assert endpoint.failing_since is None
    receiver.answer(500)
    with time_machine.travel(start + timedelta(days=6), tick=False):
        bobs.emit()
    endpoint.refresh_from_db()
    assert endpoint.active and mail.outbox == []


def test_send_again_makes_a_new_try_now(bobs, receiver):
    bobs.endpoint(receiver.url)
    receiver.answer(500)
    event = bobs.emit()
    delivery = WebhookDelivery.objects.get(message=event)
    assert delivery.status == "queued" and delivery.next_at > timezone.now()
    with bobs.commit():
        services.delivery_resend(delivery=delivery)
    delivery.refresh_from_db()
    assert (delivery.status, delivery.tries) == ("succeeded", 2)
    # Sent again after success: a third try with the same id (receivers drop it if they have it).
    with bobs.commit():
        services.delivery_resend(delivery=delivery)
    assert [r.headers["webhook-id"] for r in receiver.received] == [event.event_id] * 3


def test_send_again_is_refused_while_the_endpoint_is_disabled(bobs, receiver):
    endpoint = bobs.endpoint(receiver.url)
    receiver.answer(500)
    event = bobs.emit()
    services.endpoint_disable(endpoint=endpoint, reason="Disabled by Bob.")
    delivery = WebhookDelivery.objects.get(message=event)
    assert delivery.status == "cancelled"
    with pytest.raises(services.WebhookRefused, match="enable it first"):
        services.delivery_resend(delivery=delivery)
    services.endpoint_enable(endpoint=endpoint)
    with bobs.commit():
        services.delivery_resend(delivery=delivery)
    assert WebhookDelivery.objects.get(pk=delivery.pk).status == "succeeded"


def test_the_sweep_hands_a_due_webhook_to_a_worker(bobs, receiver):
    from answering.messages.outbox import outbox_sweep

    bobs.endpoint(receiver.url)
    with transaction.atomic():  # committed, but the fast path lost (the broker was down)
        event = services.event_emit("message.created", {"id": 1})
    with bobs.commit():
        assert outbox_sweep() >= 1
    assert [r.headers["webhook-id"] for r in receiver.received] == [event.event_id]


def test_deleting_an_endpoint_drops_its_timers(bobs, receiver):
    endpoint = bobs.endpoint(receiver.url)
    with transaction.atomic():
        services.event_emit("message.created", {"id": 1})
    services.endpoint_delete(endpoint=endpoint)
    assert not WebhookEndpoint.objects.exists()
    assert not OutboxTimer.objects.filter(client=bobs.client, kind="webhook").exists()
