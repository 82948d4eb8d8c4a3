"""Celery tasks of message delivery: thin — load, call a service.

Tenant tasks: tenant-schemas-celery runs them in the sender's schema. Their registered names
are pinned to the ones they had in ``answering.tasks``: the beat schedule and tasks already
queued in Redis use them.
"""

from __future__ import annotations

from answering.messages import delivery, outbox
from switchboard.celery import app


@app.task(name="answering.tasks.delivery_send", acks_late=True, ignore_result=True)
def delivery_send_task(delivery_id: int) -> str:
    return delivery.delivery_send(delivery_id=delivery_id).status


@app.task(name="answering.tasks.escalation_advance", acks_late=True, ignore_result=True)
def escalation_advance_task(message_id: int) -> bool:
    return delivery.escalation_advance(message_id=message_id)


@app.task(name="answering.tasks.outbox_sweep", ignore_result=True)
def outbox_sweep_task() -> int:
    """Every few seconds (beat): hand due deliveries and escalation steps to workers."""
    return outbox.outbox_sweep()
