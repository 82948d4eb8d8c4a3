"""Celery tasks of billing: thin — ids in, call a service. Sent from the public schema."""

from __future__ import annotations

from billing import services
from switchboard.celery import app


@app.task(name="billing.tasks.billing_run", acks_late=True, ignore_result=True)
def billing_run_task(run_id: int) -> str | None:
    """A platform admin's billing run (``billing_run_start``); a redelivered one does nothing."""
    run = services.billing_run_execute(run_id=run_id)
    return run.status if run else None
