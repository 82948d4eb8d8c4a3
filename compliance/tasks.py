"""Celery tasks of compliance: thin — ids in, call a service.

Tenant tasks: tenant-schemas-celery runs them in the schema they were sent from.
"""

from __future__ import annotations

from compliance.services import dnc_import
from switchboard.celery import app


@app.task(name="compliance.tasks.dnc_import_run", acks_late=True, ignore_result=True)
def dnc_import_run_task(import_id: int) -> str | None:
    """A CSV import the portal queued (``dnc_import_start``); a redelivery of a finished one does nothing."""
    job = dnc_import.dnc_import_run(import_id=import_id)
    return job.status if job else None
