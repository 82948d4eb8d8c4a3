"""Celery tasks of answering: thin — load, call a service. They run in the sender's schema."""

from __future__ import annotations

from answering import services
from switchboard.celery import app


@app.task(acks_late=True)
def knowledge_facts_import(facts: list[dict]) -> int:
    """Import knowledge facts in the background (tenant-schemas-celery sets the schema)."""
    return services.knowledge_facts_import(facts=facts)
