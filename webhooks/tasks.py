"""Celery tasks of event webhooks: thin — load, call a service. Tenant tasks (they run in the
sender's schema)."""

from __future__ import annotations

from switchboard.celery import app
from webhooks import sending


@app.task(name="webhooks.deliver", acks_late=True, ignore_result=True)
def webhook_deliver_task(delivery_id: int) -> str:
    return sending.webhook_deliver(delivery_id=delivery_id)
