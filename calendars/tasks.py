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


@app.task(name="calendars.tasks.busy_import", ignore_result=True, expires=600)
def busy_import_task(calendar_id: int) -> int | None:
    """Import one calendar's busy times (tenant task: it runs in the schema it was sent from).
    The number imported, or None when the feed could not be read (the calendar says why)."""
    from calendars.models import Calendar
    from calendars.services.feeds import busy_import

    calendar = Calendar.objects.filter(pk=calendar_id).first()
    if calendar is None:  # deleted since it was queued
        return None
    result = busy_import(calendar=calendar)
    return result.count if result.ok else None


@app.task(name="calendars.tasks.busy_imports_due", ignore_result=True, expires=60)
def busy_imports_due_task() -> int:
    """The beat: in every client, queue the calendars whose import is due (claimed first, so a
    slow import is not queued twice). Sent inside the client's schema, each runs there."""
    from django_tenants.utils import schema_context

    from calendars.services.feeds import busy_import_due
    from tenants.models import Client

    queued = 0
    for schema in Client.objects.exclude(schema_name="public").values_list("schema_name", flat=True):
        with schema_context(schema):
            for calendar_id in busy_import_due():
                busy_import_task.delay(calendar_id)
                queued += 1
    return queued


@app.task(name="calendars.tasks.notice_send", acks_late=True, ignore_result=True)
def notice_send_task(notice_id: int) -> str:
    """Send one appointment confirmation or reminder (in the sender's schema), exactly once:
    queued after the booking's commit, and by the outbox sweep when its timer is due."""
    from calendars.services.notices import notice_send

    return notice_send(notice_id=notice_id).status
