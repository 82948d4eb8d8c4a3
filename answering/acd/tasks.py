"""Celery tasks of the ACD: thin — load, call a service.

They work on the public schema's live tables, whoever sends them. Their registered names are
pinned to the ones they had in ``answering.tasks``: the beat schedule and tasks already
queued in Redis use them.
"""

from __future__ import annotations

from datetime import timedelta

from django.utils import timezone

from answering.acd import consoles
from answering.acd import services as acd
from answering.acd.models import TwilioRequest
from switchboard.celery import app


@app.task(name="answering.tasks.acd_dispatch", acks_late=True, ignore_result=True)
def acd_dispatch_task() -> int:
    return len(acd.acd_dispatch())


@app.task(name="answering.tasks.offer_expire", acks_late=True, ignore_result=True)
def offer_expire_task(call_id: int, agent_id: int) -> bool:
    return acd.offer_expire(call_id=call_id, agent_id=agent_id)


@app.task(name="answering.tasks.wrap_up_end", acks_late=True, ignore_result=True)
def wrap_up_end_task(session_id: int) -> bool:
    return acd.wrap_up_end(session_id=session_id)


@app.task(name="answering.tasks.acd_sweep", ignore_result=True)
def acd_sweep_task() -> dict:
    """Every few seconds (beat): the safety net behind lost countdowns."""
    return acd.acd_sweep()


@app.task(name="answering.tasks.twilio_requests_prune", ignore_result=True)
def twilio_requests_prune_task() -> int:
    """Twilio retries within minutes; a day of stored answers is plenty."""
    deleted, _ = TwilioRequest.objects.filter(created__lt=timezone.now() - timedelta(days=1)).delete()
    return deleted


@app.task(name="answering.tasks.call_sessions_prune", ignore_result=True)
def call_sessions_prune_task() -> int:
    """Hourly (beat): ended calls leave the live table after ACD_SESSION_RETENTION_DAYS."""
    return acd.call_sessions_prune()


@app.task(name="answering.tasks.agent_console_gone", acks_late=True, ignore_result=True)
def agent_console_gone_task(agent_id: int) -> bool:
    """Runs a grace period after a console disconnects; does nothing if one came back."""
    if consoles.open_count(agent_id) > 0:
        return False
    return acd.agent_console_lost(agent_id=agent_id)
