"""Celery tasks of calendars: thin — call a service in each client's schema."""

from __future__ import annotations

from switchboard.celery import app


@app.task(name="calendars.tasks.holds_expire", ignore_result=True, expires=60)
def holds_expire_task() -> int:
    """Release the holds that ran out, in every client (bookings clear the ones in their way;
    this frees the rest for the portal's views and the slot search's reads)."""
    from django_tenants.utils import schema_context

    from calendars.services.booking import holds_expire
    from tenants.models import Client

    released = 0
    for schema in Client.objects.exclude(schema_name="public").values_list("schema_name", flat=True):
        with schema_context(schema):
            released += holds_expire()
    return released
