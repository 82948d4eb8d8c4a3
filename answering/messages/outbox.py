"""The outbox's timers and the sweep that hands due ones to workers; and what every step of
a message's delivery leaves behind: its timeline events, supervisors' alerts, portal pushes.

Timers are rows, so escalation survives restarts of workers, beat and Redis; the sweep
(``outbox_sweep``, every few seconds from beat) hands due timers to workers."""

from __future__ import annotations

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django_tenants.utils import schema_context

from answering import live
from answering.acd.models import OutboxTimer, SupervisorAlert
from answering.models import (
    Delivery,
    DeliveryEvent,
    Message,
)
from tenants.models import Client

logger = logging.getLogger(__name__)


LEASE = timedelta(seconds=settings.DELIVERY_LEASE_SECONDS)


def timer_set(client: Client, kind: str, object_id: int, due_at: datetime) -> None:
    # One upsert statement: this runs on every send, twice.
    OutboxTimer.objects.bulk_create([OutboxTimer(client=client, kind=kind, object_id=object_id, due_at=due_at)],
                                    update_conflicts=True, unique_fields=["client", "kind", "object_id"],
                                    update_fields=["due_at"])


def timer_clear(client: Client, kind: str, object_id: int) -> None:
    OutboxTimer.objects.filter(client=client, kind=kind, object_id=object_id).delete()


def send_soon(schema: str, delivery_id: int, countdown: int = 0) -> None:
    """Hand the attempt to a worker now (the fast path; the timer is the safety net)."""
    from answering.messages.tasks import delivery_send_task  # the tasks call these services

    try:
        with schema_context(schema):
            delivery_send_task.apply_async(args=[delivery_id], countdown=countdown or None)
    except Exception:  # the broker is down: the sweep sends it when it can
        logger.exception("could not queue delivery %s of %s; the sweep will", delivery_id, schema)


def outbox_sweep(*, limit: int = 500) -> int:
    """Hand every due timer to a worker (public schema; beat runs it every few seconds).

    A timer handed out is pushed a lease ahead, so the next sweep does not hand it out again
    while a worker has it; if that worker dies, the timer comes due again.
    """
    from answering.messages.tasks import delivery_send_task, escalation_advance_task  # the tasks call these services
    from calendars.tasks import notice_send_task  # appointments' confirmations and reminders share the outbox
    from webhooks.tasks import webhook_deliver_task  # event webhooks share the outbox too

    now = timezone.now()
    with transaction.atomic():
        due = list(OutboxTimer.objects.select_for_update(skip_locked=True, of=("self",)).select_related("client")
                   .filter(due_at__lte=now).order_by("due_at")[:limit])
        OutboxTimer.objects.filter(pk__in=[t.pk for t in due]).update(due_at=now + LEASE)
    tasks = {OutboxTimer.Kind.DELIVERY: delivery_send_task, OutboxTimer.Kind.ESCALATION: escalation_advance_task,
             OutboxTimer.Kind.NOTICE: notice_send_task, OutboxTimer.Kind.WEBHOOK: webhook_deliver_task}
    for timer in due:
        task = tasks[timer.kind]
        with schema_context(timer.client.schema_name):
            task.delay(timer.object_id)
    return len(due)


def event_record(message: Message, status: str, detail: str = "", delivery: Delivery | None = None) -> None:
    DeliveryEvent.objects.create(message=message, delivery=delivery, status=status, detail=detail[:300])


def alert_raise(client: Client, message: Message, kind: str, text: str) -> None:
    SupervisorAlert.objects.create(client=client, kind=kind, message_id=message.pk, text=text[:300])
    transaction.on_commit(lambda: live.push(live.SUPERVISORS_GROUP, {"type": "alerts_changed"}))


def supervisors_push() -> None:
    """After the commit, the wallboards redraw: an urgent message taken or acknowledged, a
    delivery failed (they read the alerts themselves; the push only says "look again")."""
    transaction.on_commit(lambda: live.push(live.SUPERVISORS_GROUP, {"type": "alerts_changed"}))


def portal_push(client: Client, payload: dict) -> None:
    group = live.client_portal_group(client.schema_name)
    transaction.on_commit(lambda: live.push(group, payload))
