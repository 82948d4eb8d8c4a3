"""What every change of an appointment sets off, inside the transaction that made it: its
confirmations and reminders queued or cancelled (``calendars.services.notices``), and, after
the commit, the portal's calendar pages told to redraw (a booking by an agent appears there
without a reload)."""

from __future__ import annotations

from answering import live
from calendars.models import Appointment
from tenants.selectors import client_current


def appointment_changed(appointment: Appointment, kind: str) -> None:
    from calendars.services import notices  # notices send through the outbox, which imports booking

    notices.notices_plan(appointment, kind)
    from webhooks import events  # appointment.booked / rescheduled / cancelled, committed with the change

    events.appointment_changed(appointment, kind)
    client = client_current()
    payload = {"type": "appointment_changed", "appointment": appointment.pk, "calendar": appointment.calendar_id,
               "kind": kind, "start": appointment.start.isoformat()}
    from django.db import transaction

    group = live.client_portal_group(client.schema_name)
    transaction.on_commit(lambda: live.push(group, payload))
