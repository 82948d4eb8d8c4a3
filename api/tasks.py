"""The API's Celery tasks: thin — call a service in each client's schema."""

from __future__ import annotations

from switchboard.celery import app


@app.task(name="api.tasks.idempotency_prune", ignore_result=True, expires=3600)
def idempotency_prune_task() -> int:
    """Forget Idempotency-Key answers older than API_IDEMPOTENCY_HOURS, in every client."""
    from django_tenants.utils import schema_context

    from api.idempotency import idempotency_prune
    from tenants.models import Client

    removed = 0
    for schema in Client.objects.exclude(schema_name="public").values_list("schema_name", flat=True):
        with schema_context(schema):
            removed += idempotency_prune()
    return removed
