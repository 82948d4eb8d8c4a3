"""Sending one webhook delivery, exactly once per try, retried with the Standard Webhooks
back-off and re-signed on every try.

``webhook_deliver`` claims the row with a lease (``select_for_update(skip_locked)``), sends
outside any transaction (a slow receiver holds no locks), then records the answer only if the
row is still this try's. A worker that dies mid-send leaves the row ``sending``; its timer comes
due when the lease runs out and the next try goes with the same ``webhook-id`` (receivers drop
repeats by it — the spec's contract).
"""

from __future__ import annotations

import json
import logging
import time
from dataclasses import dataclass
from datetime import timedelta

import requests
from django.conf import settings
from django.core.mail import EmailMessage
from django.db import transaction
from django.utils import timezone

from answering.acd.models import OutboxTimer
from answering.messages.outbox import LEASE, timer_clear, timer_set
from switchboard import outbound as guard
from tenants.models import Client, Role, User
from tenants.selectors import client_current
from webhooks import signing
from webhooks.models import EventType, WebhookDelivery, WebhookEndpoint
from webhooks.services import deliver_soon, endpoint_disable

logger = logging.getLogger(__name__)

TIMEOUT_SECONDS = 10
# The spec's suggested schedule after the first try: 5 s, 5 min, 30 min, 2 h, 5 h, 10 h, then
# every 10 h — twelve tries over about 2.8 days.
RETRY_DELAYS = tuple(timedelta(seconds=s) for s in (5, 300, 1800, 7200, 18000, 36000, 36000, 36000, 36000, 36000,
                                                    36000))
MAX_TRIES = len(RETRY_DELAYS) + 1
# Waits up to this long ride on the broker's countdown; longer ones wait for the sweep (a long
# wait is a row, never a broker countdown: Redis may redeliver or lose it).
COUNTDOWN_MAX = timedelta(minutes=5)
Status = WebhookDelivery.Status

_session: requests.Session | None = None


def _http() -> requests.Session:
    global _session
    if _session is None:
        _session = guard.session()
    return _session


@dataclass
class Answer:
    code: int | None = None
    body: str = ""
    error: str = ""
    permanent: bool = False  # no retry (an address we refuse)

    @property
    def ok(self) -> bool:
        return self.code is not None and 200 <= self.code < 300


def body_for(delivery: WebhookDelivery) -> bytes:
    """The request body, the same on every try: ``{"type", "timestamp", "data"}``."""
    event = delivery.message
    return json.dumps({"type": event.type, "timestamp": event.created.isoformat().replace("+00:00", "Z"),
                       "data": event.payload}, separators=(",", ":")).encode()


def webhook_deliver(*, delivery_id: int, client: Client | None = None) -> str:
    """One try of one delivery, if it is due and nobody else has it. Safe to run any number of
    times, at once or after a crash. Returns what happened, in a word."""
    client = client or client_current()
    now = timezone.now()
    with transaction.atomic():
        _commit_without_waiting_for_disk()
        delivery = (WebhookDelivery.objects.select_for_update(skip_locked=True, of=("self",))
                    .select_related("message", "endpoint").filter(pk=delivery_id).first())
        if delivery is None:
            return "busy"  # another worker holds it (or it is gone)
        if delivery.status in WebhookDelivery.FINAL:
            timer_clear(client, OutboxTimer.Kind.WEBHOOK, delivery.pk)
            return "final"
        if delivery.status == Status.SENDING and delivery.lease_until and delivery.lease_until > now:
            return "busy"
        if delivery.status == Status.QUEUED and delivery.next_at > now:
            return "not due"
        if not delivery.endpoint.active:
            WebhookDelivery.objects.filter(pk=delivery.pk).update(status=Status.CANCELLED, lease_until=None,
                                                                  last_error="The endpoint was disabled.")
            timer_clear(client, OutboxTimer.Kind.WEBHOOK, delivery.pk)
            return "cancelled"
        delivery.status, delivery.tries, delivery.lease_until = Status.SENDING, delivery.tries + 1, now + LEASE
        delivery.save(update_fields=["status", "tries", "lease_until"])
        # If this worker dies from here on, the timer brings the row back after the lease.
        timer_set(client, OutboxTimer.Kind.WEBHOOK, delivery.pk, delivery.lease_until)
    answer = _post(delivery)
    return _record(delivery, answer, client=client)


def _commit_without_waiting_for_disk() -> None:
    """This transaction's COMMIT returns before its WAL reaches the disk (``synchronous_commit``
    off, for it alone). The claim's flush sat between every event and its POST (5–12 ms on a busy
    disk, twice a send). Only a crash of the database server within that fraction of a second
    can lose such a commit, and either loss ends as a crashed worker does: the row is still
    queued (or still leased), its timer comes due, and the try goes again with the same
    ``webhook-id``, which receivers drop as a repeat."""
    with transaction.get_connection().cursor() as cursor:
        cursor.execute("SET LOCAL synchronous_commit = off")


def _post(delivery: WebhookDelivery) -> Answer:
    endpoint = delivery.endpoint
    body = body_for(delivery)
    stamp = int(time.time())  # fresh on every try: receivers refuse old timestamps
    headers = signing.headers(endpoint, event_id=delivery.message.event_id, timestamp=stamp, body=body,
                              now=timezone.now())
    try:
        guard.url_check(endpoint.url, resolve=False)
        with _http().post(endpoint.url, data=body, headers=headers, timeout=TIMEOUT_SECONDS, allow_redirects=False,
                          stream=True) as response:
            text = response.raw.read(500, decode_content=True).decode("utf-8", "replace")
            return Answer(code=response.status_code, body=text)
    except guard.UrlRefused as refused:
        return Answer(error=str(refused), permanent=True)
    except requests.RequestException as exc:
        return Answer(error=f"No answer: {type(exc).__name__}: {str(exc)[:200]}")
    except OSError as exc:
        return Answer(error=f"No answer: {exc}"[:300])


def _record(delivery: WebhookDelivery, answer: Answer, *, client: Client) -> str:
    now = timezone.now()
    endpoint = delivery.endpoint
    with transaction.atomic():
        _commit_without_waiting_for_disk()
        current = WebhookDelivery.objects.select_for_update().get(pk=delivery.pk)
        if current.status != Status.SENDING or current.tries != delivery.tries:
            return "superseded"  # our lease ran out and another try took over: its answer counts
        current.message = delivery.message  # the event never changes: no second read of it for _follow
        fields = {"last_status_code": answer.code, "last_response": answer.body[:500], "lease_until": None,
                  "last_error": (answer.error or ("" if answer.ok else f"Answered {answer.code}"))[:300]}
        if answer.ok:
            WebhookDelivery.objects.filter(pk=delivery.pk).update(status=Status.SUCCEEDED, sent_at=now, **fields)
            WebhookEndpoint.objects.filter(pk=endpoint.pk).exclude(failing_since=None).update(failing_since=None)
            timer_clear(client, OutboxTimer.Kind.WEBHOOK, delivery.pk)
            _follow(current, client, "delivered", f"Webhook {endpoint.url} answered {answer.code}.")
            return "succeeded"
        if answer.code == 410:
            # 410 Gone: the receiver says this endpoint is no more. Stop at once.
            WebhookDelivery.objects.filter(pk=delivery.pk).update(status=Status.FAILED, **fields)
            timer_clear(client, OutboxTimer.Kind.WEBHOOK, delivery.pk)
            endpoint_disable(endpoint=endpoint, client=client,
                             reason=f"Answered 410 Gone on {timezone.localtime(now):%Y-%m-%d %H:%M %Z}.")
            _follow(current, client, "failed", f"Webhook {endpoint.url} answered 410 Gone; the endpoint is disabled.")
            return "gone"
        WebhookEndpoint.objects.filter(pk=endpoint.pk, failing_since=None).update(failing_since=now)
        endpoint.refresh_from_db(fields=["failing_since", "active"])
        limit = timedelta(days=settings.WEBHOOK_DISABLE_AFTER_DAYS)
        failing_too_long = endpoint.failing_since is not None and now - endpoint.failing_since >= limit
        what = answer.error or f"answered {answer.code}"
        if answer.permanent or delivery.tries >= MAX_TRIES or failing_too_long:
            WebhookDelivery.objects.filter(pk=delivery.pk).update(status=Status.FAILED, **fields)
            timer_clear(client, OutboxTimer.Kind.WEBHOOK, delivery.pk)
            _follow(current, client, "failed", f"Webhook {endpoint.url}: {what} — given up after {delivery.tries} "
                                       f"tr{'y' if delivery.tries == 1 else 'ies'}.")
            if failing_too_long and endpoint.active:
                since = timezone.localtime(endpoint.failing_since)
                reason = (f"Failing since {since:%Y-%m-%d %H:%M %Z} with no success: disabled after "
                          f"{settings.WEBHOOK_DISABLE_AFTER_DAYS} days. Last: {what}")[:300]
                if endpoint_disable(endpoint=endpoint, client=client, reason=reason):
                    _alert_disabled(client, endpoint, reason)
            return "failed"
        wait = RETRY_DELAYS[delivery.tries - 1]
        due = now + wait
        WebhookDelivery.objects.filter(pk=delivery.pk).update(status=Status.QUEUED, next_at=due, **fields)
        timer_set(client, OutboxTimer.Kind.WEBHOOK, delivery.pk, due)
        if wait <= COUNTDOWN_MAX:
            schema, pk, seconds = client.schema_name, delivery.pk, int(wait.total_seconds())
            transaction.on_commit(lambda: deliver_soon(schema, pk, countdown=seconds))
        _follow(current, client, "retry", f"Webhook {endpoint.url}: {what} — trying again at "
                                  f"{timezone.localtime(due):%H:%M:%S}.")
        return "retry"


def _follow(delivery: WebhookDelivery, client: Client, outcome: str, detail: str) -> None:
    """The message's timeline (and its rules' webhook attempt) shows how its webhook went."""
    from answering.messages.outbox import event_record, portal_push
    from answering.models import Delivery, Message

    event = delivery.message
    if event.type != EventType.MESSAGE_CREATED or not event.subject.startswith("message:"):
        return
    attempt = None
    if delivery.source_delivery_id:
        attempt = Delivery.objects.filter(pk=delivery.source_delivery_id).select_related("message").first()
    message = attempt.message if attempt else Message.objects.filter(pk=event.subject.split(":", 1)[1]).first()
    if message is None:
        return
    if attempt is not None:
        now, moving = timezone.now(), [Delivery.Status.SENDING, Delivery.Status.SENT]
        if outcome == "delivered":
            Delivery.objects.filter(pk=attempt.pk, status__in=moving).update(status=Delivery.Status.DELIVERED,
                                                                             delivered_at=now)
        elif outcome == "failed":
            Delivery.objects.filter(pk=attempt.pk, status__in=moving).update(
                status=Delivery.Status.FAILED, failed_at=now, error=detail[:300])
    event_record(message, outcome, detail, attempt)
    portal_push(client, {"type": "message_changed", "message": message.pk})


def _alert_disabled(client: Client, endpoint: WebhookEndpoint, reason: str) -> None:
    """The client's admins hear of it by email (and the portal's webhooks page says it in red):
    their system is down, not ours, so it is theirs to fix."""
    admins = list(User.objects.filter(client=client, role=Role.CLIENT_ADMIN, is_active=True)
                  .values_list("email", flat=True))
    logger.warning("webhook endpoint %s of %s disabled: %s", endpoint.pk, client.schema_name, reason)
    if not admins:
        return
    email = EmailMessage(subject=f"[{client.name}] Webhook endpoint disabled: {endpoint.url}"[:200],
                         body=f"We stopped sending events to {endpoint.url}.\n\n{reason}\n\n"
                              "Fix the receiver, then enable the endpoint again on the portal's Webhooks page; "
                              "each delivery it missed can be sent again from its log.\n",
                         to=admins)

    def send() -> None:
        try:
            email.send()
        except OSError:
            logger.exception("could not email %s's admins about webhook endpoint %s", client.schema_name, endpoint.pk)

    transaction.on_commit(send)
