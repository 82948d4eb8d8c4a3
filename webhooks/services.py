"""Event webhooks: the verbs (run inside the client's schema, or given the client).

``event_emit`` is called inside the transaction of the change it announces, so an event exists
if and only if the change committed; it writes the event and one delivery per subscribed active
endpoint with a timer each in ``acd.OutboxTimer`` (the safety net), and after the commit hands
each delivery to a worker at once. ``webhooks.sending.webhook_deliver`` sends them.
The rest keeps a client's endpoints: create, change, rotate the secret, disable, enable, delete,
and send a delivery again.
"""

from __future__ import annotations

import logging
from collections.abc import Callable
from datetime import datetime, timedelta

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone
from django_tenants.utils import schema_context

from answering.acd.models import OutboxTimer
from answering.messages.outbox import timer_set
from switchboard.outbound import UrlRefused, url_check
from tenants.models import Client
from tenants.selectors import client_current
from webhooks.models import EventType, WebhookDelivery, WebhookEndpoint, WebhookMessage, secret_new

logger = logging.getLogger(__name__)

# How long the old secret keeps signing after a rotation, beside the new one.
ROTATION_OVERLAP = timedelta(hours=24)
MAX_ENDPOINTS = 20


class WebhookRefused(Exception):
    """What was asked cannot be done; the message says why, for a person."""


# --- Events ------------------------------------------------------------------------------

def event_emit(type: str, payload: dict | Callable[[], dict], *, subject: str = "", client: Client | None = None,
               at: datetime | None = None) -> WebhookMessage | None:
    """Announce an event to every active endpoint that wants it. Call INSIDE the transaction of
    the change: rolled back, nothing is sent. Returns the event, or None when no endpoint wants
    it (then nothing is written). ``payload`` may be a function, called only then (so a change
    nobody listens to costs one query). ``client`` given: written in its schema, whichever the
    connection is in (the ACD runs in the public schema)."""
    if type not in EventType.values:
        raise ValueError(f"unknown event type {type!r}")
    client = client or client_current()
    if connection.schema_name != client.schema_name:
        with schema_context(client.schema_name):
            return _emit(type, payload, subject=subject, client=client, at=at)
    return _emit(type, payload, subject=subject, client=client, at=at)


def _emit(type: str, payload, *, subject: str, client: Client, at: datetime | None) -> WebhookMessage | None:
    endpoints = [e for e in WebhookEndpoint.objects.filter(active=True, rules_only=False) if e.wants(type)]
    if not endpoints:
        return None
    if callable(payload):
        payload = payload()
    now = at or timezone.now()
    message = WebhookMessage.objects.create(type=type, subject=subject[:60], payload=payload)
    deliveries = WebhookDelivery.objects.bulk_create(
        [WebhookDelivery(message=message, endpoint=endpoint, next_at=now) for endpoint in endpoints])
    _queue(client, [d.pk for d in deliveries], now)
    return message


def _queue(client: Client, pks: list[int], due: datetime, countdown: int = 0) -> None:
    """Timers for these deliveries (they survive any broker or worker), and after the commit a
    task each (the fast path)."""
    for pk in pks:
        timer_set(client, OutboxTimer.Kind.WEBHOOK, pk, due)
    schema = client.schema_name
    transaction.on_commit(lambda: [deliver_soon(schema, pk, countdown) for pk in pks])


def deliver_soon(schema: str, delivery_id: int, countdown: int = 0) -> None:
    """Hand a delivery to a worker now (the timer is the safety net if the broker is down)."""
    from webhooks.tasks import webhook_deliver_task  # the task calls webhooks.sending

    try:
        with schema_context(schema):
            webhook_deliver_task.apply_async(args=[delivery_id], countdown=countdown or None)
    except Exception:
        logger.exception("could not queue webhook delivery %s of %s; the sweep will", delivery_id, schema)


def rule_delivery_hand_over(*, delivery, payload: dict, client: Client | None = None) -> tuple[str, str]:
    """A delivery rule's webhook step (``answering.Delivery``, channel webhook) becomes this
    message's ``message.created`` event to the endpoint with the step's URL (made, rules-only, on
    first use). Returns the Delivery's new status ("sent": handed to the sender, whose outcome
    the Delivery then follows; "delivered": that endpoint had the event already) and a detail.
    Raises ``WebhookRefused`` for a URL we may not send to or a disabled endpoint."""
    client = client or client_current()
    url = delivery.address
    endpoint = WebhookEndpoint.objects.filter(url=url).order_by("-active", "pk").first()
    if endpoint is None:
        try:
            url_check(url)
        except UrlRefused as refused:
            raise WebhookRefused(str(refused)) from refused
        endpoint = WebhookEndpoint.objects.create(
            url=url, rules_only=True, event_types=[EventType.MESSAGE_CREATED],
            description=f"Delivery rules: {delivery.person or url}"[:200])
    if not endpoint.active:
        raise WebhookRefused(f"The webhook endpoint {url} is disabled: {endpoint.disabled_reason or 'by an admin'}.")
    subject = f"message:{delivery.message_id}"
    now = timezone.now()
    with transaction.atomic():
        event = (WebhookMessage.objects.filter(type=EventType.MESSAGE_CREATED, subject=subject).order_by("pk").first()
                 or WebhookMessage.objects.create(type=EventType.MESSAGE_CREATED, subject=subject, payload=payload))
        sent, created = WebhookDelivery.objects.get_or_create(
            message=event, endpoint=endpoint, defaults={"next_at": now, "source_delivery_id": delivery.pk})
        if created:
            _queue(client, [sent.pk], now)
            return "sent", f"Handed to the webhook sender as {event.event_id} for {url}."
        sent = WebhookDelivery.objects.select_for_update().get(pk=sent.pk)  # the sender records under this lock
        if sent.status == WebhookDelivery.Status.SUCCEEDED:
            return "delivered", f"{url} already has this message ({event.event_id})."
        WebhookDelivery.objects.filter(pk=sent.pk).update(source_delivery_id=delivery.pk)
    return "sent", f"Already on its way to {url} as {event.event_id}."


# --- Endpoints ---------------------------------------------------------------------------

def _event_types_clean(event_types) -> list[str]:
    chosen = list(dict.fromkeys(event_types or []))
    unknown = [t for t in chosen if t not in EventType.values]
    if unknown:
        raise ValidationError({"event_types": f"Unknown event type{'s' if len(unknown) > 1 else ''}: "
                                              f"{', '.join(map(str, unknown))}. Known: {', '.join(EventType.values)}."})
    return chosen


def _url_clean(url: str) -> str:
    try:
        return url_check(url)
    except UrlRefused as refused:
        raise ValidationError({"url": str(refused)}) from refused


def endpoint_create(*, url: str, description: str = "", event_types=()) -> WebhookEndpoint:
    """A new endpoint with a fresh ``whsec_`` secret (show it to the admin once). Raises
    ``ValidationError`` per field: a URL that is not http(s), does not resolve or resolves to
    an address we refuse; an unknown event type; too many endpoints."""
    clean = {"url": _url_clean(url), "event_types": _event_types_clean(event_types)}
    if WebhookEndpoint.objects.filter(rules_only=False).count() >= MAX_ENDPOINTS:
        raise ValidationError({"url": f"At most {MAX_ENDPOINTS} endpoints; delete one first."})
    return WebhookEndpoint.objects.create(description=description.strip()[:200], **clean)


def endpoint_update(*, endpoint: WebhookEndpoint, url: str | None = None, description: str | None = None,
                    event_types=None) -> WebhookEndpoint:
    """Change what is given; the same checks as ``endpoint_create``."""
    if url is not None:
        endpoint.url = _url_clean(url)
    if description is not None:
        endpoint.description = description.strip()[:200]
    if event_types is not None:
        endpoint.event_types = _event_types_clean(event_types)
    endpoint.save(update_fields=["url", "description", "event_types"])
    return endpoint


def endpoint_secret_rotate(*, endpoint: WebhookEndpoint, overlap: timedelta = ROTATION_OVERLAP) -> str:
    """A new secret, returned (to show once). For ``overlap`` the old one signs too, beside it."""
    with transaction.atomic():
        endpoint = WebhookEndpoint.objects.select_for_update().get(pk=endpoint.pk)
        endpoint.previous_secret, endpoint.secret = endpoint.secret, secret_new()
        endpoint.previous_secret_until = timezone.now() + overlap
        endpoint.save(update_fields=["previous_secret", "secret", "previous_secret_until"])
    return endpoint.secret


def _pending(endpoint: WebhookEndpoint):
    return WebhookDelivery.objects.filter(endpoint=endpoint, status__in=[WebhookDelivery.Status.QUEUED,
                                                                         WebhookDelivery.Status.SENDING])


def endpoint_disable(*, endpoint: WebhookEndpoint, reason: str, client: Client | None = None) -> bool:
    """Stop sending to it: its queued deliveries are cancelled (each can be sent again once it is
    enabled). True if it was active."""
    client = client or client_current()
    with transaction.atomic():
        changed = WebhookEndpoint.objects.filter(pk=endpoint.pk, active=True).update(
            active=False, disabled_reason=reason[:300], disabled_at=timezone.now())
        pending = list(_pending(endpoint).exclude(status=WebhookDelivery.Status.SENDING).values_list("pk", flat=True))
        WebhookDelivery.objects.filter(pk__in=pending).update(
            status=WebhookDelivery.Status.CANCELLED, last_error="The endpoint was disabled.", lease_until=None)
        OutboxTimer.objects.filter(client=client, kind=OutboxTimer.Kind.WEBHOOK, object_id__in=pending).delete()
    endpoint.refresh_from_db()
    return bool(changed)


def endpoint_enable(*, endpoint: WebhookEndpoint) -> WebhookEndpoint:
    """Send to it again (new events; cancelled ones only when sent again). Its failure clock restarts."""
    WebhookEndpoint.objects.filter(pk=endpoint.pk).update(active=True, disabled_reason="", disabled_at=None,
                                                          failing_since=None)
    endpoint.refresh_from_db()
    return endpoint


def endpoint_delete(*, endpoint: WebhookEndpoint, client: Client | None = None) -> None:
    """Gone, with its delivery log; nothing more is sent to it."""
    client = client or client_current()
    with transaction.atomic():
        pks = list(WebhookDelivery.objects.filter(endpoint=endpoint).values_list("pk", flat=True))
        OutboxTimer.objects.filter(client=client, kind=OutboxTimer.Kind.WEBHOOK, object_id__in=pks).delete()
        WebhookEndpoint.objects.filter(pk=endpoint.pk).delete()


def delivery_resend(*, delivery: WebhookDelivery, client: Client | None = None) -> WebhookDelivery:
    """A new try of this delivery, now (its webhook-id stays: receivers may drop it as a repeat).
    Refused while a try is in flight or when its endpoint is disabled."""
    client = client or client_current()
    now = timezone.now()
    with transaction.atomic():
        delivery = WebhookDelivery.objects.select_for_update().select_related("endpoint").get(pk=delivery.pk)
        if not delivery.endpoint.active:
            raise WebhookRefused("Its endpoint is disabled; enable it first.")
        if delivery.status == WebhookDelivery.Status.SENDING and delivery.lease_until and delivery.lease_until > now:
            raise WebhookRefused("A try is under way right now; wait for its answer.")
        WebhookDelivery.objects.filter(pk=delivery.pk).update(status=WebhookDelivery.Status.QUEUED, next_at=now,
                                                              lease_until=None)
        _queue(client, [delivery.pk], now)
    delivery.refresh_from_db()
    return delivery
