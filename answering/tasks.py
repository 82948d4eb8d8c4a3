"""Celery tasks of answering's client data: thin — load, call a service.

Tenant tasks run in the sender's schema (tenant-schemas-celery). The ACD's tasks are in
``answering.acd.tasks``, the messages' in ``answering.messages.tasks``. Registered names are
pinned: the beat schedule and tasks already queued in Redis use them.
"""

from __future__ import annotations

from answering import services
from switchboard.celery import app


@app.task(name="answering.tasks.knowledge_facts_import", acks_late=True)
def knowledge_facts_import_task(facts: list[dict]) -> int:
    """Import knowledge facts in the background (tenant-schemas-celery sets the schema)."""
    return services.knowledge_facts_import(facts=facts)
