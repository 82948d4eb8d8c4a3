"""Confirmations and reminders of appointments (being built: see /tmp/plan/notices.md)."""

from __future__ import annotations


def notices_plan(appointment, kind: str) -> None:
    """Queue or cancel the appointment's notices for the change ``kind`` (booked, rescheduled,
    cancelled, …), inside its transaction."""
