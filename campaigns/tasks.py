"""Celery tasks of campaigns: thin — ids in, call a service.

Tenant tasks: tenant-schemas-celery runs them in the schema they were sent from.
"""

from __future__ import annotations

from switchboard.celery import app


@app.task(name="campaigns.tasks.contact_import_run", acks_late=True, ignore_result=True)
def contact_import_run_task(import_id: int) -> str | None:
    """A CSV import the portal or the API queued; a redelivery of a finished one does nothing."""
    from campaigns.services import imports

    job = imports.contact_import_run(import_id=import_id)
    return job.status if job else None


# The dialer's beat tasks run in the public schema: each visits the schemas it needs. A tick
# that finds the previous one still running skips (expires): ticks must not pile up.
@app.task(name="campaigns.tasks.dialer_tick", ignore_result=True, expires=5)
def dialer_tick_task() -> int:
    from campaigns.services import dialer

    return sum(r.placed for r in dialer.dialer_tick())


@app.task(name="campaigns.tasks.dialer_sweep", ignore_result=True, expires=30)
def dialer_sweep_task() -> int:
    from campaigns.services import dialer

    return dialer.dialer_sweep()
