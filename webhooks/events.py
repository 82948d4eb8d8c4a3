"""What each event says, and the one-line calls the changes make (inside their transactions).

Each ``*_event`` builds the event's ``data`` from the changed row and calls ``event_emit``; the
apps that change things call these, so a payload's shape lives here, in one place.
Times are ISO 8601 in UTC.
"""

from __future__ import annotations

from datetime import datetime

from tenants.models import Client
from webhooks.models import EventType
from webhooks.services import event_emit


def _iso(value: datetime | None) -> str | None:
    return value.isoformat().replace("+00:00", "Z") if value else None


def message_data(message) -> dict:
    return {"id": message.pk, "created": _iso(message.created), "urgency": message.urgency,
            "category": message.category, "caller": message.caller, "caller_name": message.caller_name,
            "callback_number": message.callback_number, "language": message.language,
            "fields": message.fields, "short_code": message.short_code, "call_sid": message.call_sid}


def message_created(message, *, client: Client | None = None) -> None:
    event_emit(EventType.MESSAGE_CREATED, message_data(message), subject=f"message:{message.pk}", client=client)


def message_acknowledged(message, *, client: Client | None = None) -> None:
    def data() -> dict:  # as committed (the caller's row may predate the acknowledgement)
        fresh = type(message).objects.get(pk=message.pk)
        return {**message_data(fresh), "acknowledged_at": _iso(fresh.acknowledged_at),
                "acknowledged_by": fresh.acknowledged_by, "acknowledged_via": fresh.acknowledged_via}

    event_emit(EventType.MESSAGE_ACKNOWLEDGED, data, subject=f"message:{message.pk}", client=client)


def call_completed(client: Client, record: dict) -> None:
    """``record``: the client's call record's fields as the ACD writes them (``_record_fields``)."""
    keys = ("call_sid", "caller", "number_dialed", "language", "menu_choice", "outcome", "wait_seconds",
            "talk_seconds", "caller_hung_up")
    data = {key: record.get(key) for key in keys}
    for key in ("arrived_at", "queued_at", "answered_at", "ended_at"):
        data[key] = _iso(record.get(key))
    event_emit(EventType.CALL_COMPLETED, data, subject=f"call:{record['call_sid']}"[:60], client=client)


APPOINTMENT_EVENTS = {"booked": EventType.APPOINTMENT_BOOKED, "rescheduled": EventType.APPOINTMENT_RESCHEDULED,
                      "cancelled": EventType.APPOINTMENT_CANCELLED}


def appointment_changed(appointment, kind: str, *, client: Client | None = None) -> None:
    """``kind``: booked, rescheduled or cancelled (other kinds announce nothing)."""
    if kind not in APPOINTMENT_EVENTS:
        return
    def data() -> dict:  # as committed: the services change some fields with an UPDATE, not on this object
        a = type(appointment).objects.get(pk=appointment.pk)
        return {"id": a.pk, "calendar": a.calendar_id, "type": a.type_id, "status": a.status, "start": _iso(a.start),
                "end": _iso(a.end), "window_end": _iso(a.window_end), "name": a.name, "phone": str(a.phone or ""),
                "email": a.email, "answers": a.answers, "call_sid": a.call_sid}

    event_emit(APPOINTMENT_EVENTS[kind], data, subject=f"appointment:{appointment.pk}", client=client)


def contact_opted_out(entry, *, client: Client | None = None) -> None:
    """``entry``: the client's new DNC entry (``compliance.DncEntry``)."""
    data = {"number": entry.number, "source": entry.source, "reason": entry.reason,
            "at": _iso(entry.created)}
    event_emit(EventType.CONTACT_OPTED_OUT, data, subject=f"number:{entry.number}", client=client)


def campaign_completed(campaign, *, client: Client | None = None) -> None:
    """Completed (every contact worked) or stopped: either way it dials no more."""
    data = {"id": campaign.pk, "name": campaign.name, "state": campaign.state, "reason": campaign.state_reason}
    event_emit(EventType.CAMPAIGN_COMPLETED, data, subject=f"campaign:{campaign.pk}", client=client)
