"""Celery tasks of answering: thin — load, call a service.

Tenant tasks run in the sender's schema (tenant-schemas-celery). The ACD's tasks work on
the public schema's live tables, whoever sends them.
"""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from answering import services
from answering.acd import services as acd
from switchboard.celery import app


@app.task(acks_late=True)
def knowledge_facts_import(facts: list[dict]) -> int:
    """Import knowledge facts in the background (tenant-schemas-celery sets the schema)."""
    return services.knowledge_facts_import(facts=facts)


@app.task(acks_late=True, ignore_result=True)
def acd_dispatch() -> int:
    return len(acd.acd_dispatch())


@app.task(acks_late=True, ignore_result=True)
def offer_expire(call_id: int, agent_id: int) -> bool:
    return acd.offer_expire(call_id=call_id, agent_id=agent_id)


@app.task(acks_late=True, ignore_result=True)
def wrap_up_end(session_id: int) -> bool:
    return acd.wrap_up_end(session_id=session_id)


@app.task(ignore_result=True)
def acd_sweep() -> dict:
    """Every few seconds (beat): the safety net behind lost countdowns."""
    return acd.acd_sweep()


@app.task(ignore_result=True)
def twilio_requests_prune() -> int:
    """Twilio retries within minutes; a day of stored answers is plenty."""
    from answering.acd.models import TwilioRequest

    deleted, _ = TwilioRequest.objects.filter(created__lt=timezone.now() - timedelta(days=1)).delete()
    return deleted


@app.task(ignore_result=True)
def call_sessions_prune() -> int:
    """Hourly (beat): ended calls leave the live table after ACD_SESSION_RETENTION_DAYS."""
    return acd.call_sessions_prune()


@app.task(acks_late=True, ignore_result=True)
def agent_console_gone(agent_id: int) -> bool:
    """Runs a grace period after a console disconnects; does nothing if one came back."""
    from answering import consoles

    if consoles.open_count(agent_id) > 0:
        return False
    return acd.agent_console_lost(agent_id=agent_id)


# --- Message delivery (tenant tasks: tenant-schemas-celery runs them in the sender's schema) ---

@app.task(acks_late=True, ignore_result=True)
def delivery_send(delivery_id: int) -> str:
    from answering import delivery

    return delivery.delivery_send(delivery_id=delivery_id).status


@app.task(acks_late=True, ignore_result=True)
def escalation_advance(message_id: int) -> bool:
    from answering import delivery

    return delivery.escalation_advance(message_id=message_id)


@app.task(ignore_result=True)
def outbox_sweep() -> int:
    """Every few seconds (beat): hand due deliveries and escalation steps to workers."""
    from answering import delivery

    return delivery.outbox_sweep()
