"""The demo's calendars: Bayview Family Clinic's two providers with "New patient" and
"Follow-up", Northside's two technicians with a "Repair visit" promised within a two-hour
arrival window; text confirmations and reminders (24 h and 2 h before); a few bookings this
week so the portal's week view has something in it (booking with a number records the
consent to texts about the appointment, as any booking does: calendars/services/notices.py). The clinic's and the contractor's
scripts offer these types by name on their appointment step.

Idempotent: what exists is left alone.
"""

from __future__ import annotations

import datetime as dt

from django.db import transaction
from django.utils import timezone

from calendars.models import AppointmentType, Calendar, ReminderRule, WorkingHours
from calendars.selectors import appointment_slots
from calendars.services.booking import BookingRefused, appointment_book

WEEKDAYS = range(5)
CALENDARS = {
    "bayview": {
        "calendars": {"Dr. Maria Lopez": [(dt.time(8), dt.time(12)), (dt.time(13), dt.time(17))],
                      "Dr. James Chen": [(dt.time(9), dt.time(13)), (dt.time(14), dt.time(17))]},
        "types": [
            {"name": "New patient", "duration_minutes": 45, "buffer_after_minutes": 15, "step_minutes": 30,
             "min_notice_minutes": 120, "horizon_days": 60,
             "intake_fields": [{"name": "date_of_birth", "label": "Date of birth", "type": "date", "required": True},
                               {"name": "insurance", "label": "Insurance", "type": "text", "required": False}]},
            {"name": "Follow-up", "duration_minutes": 20, "step_minutes": 20, "min_notice_minutes": 60,
             "horizon_days": 60,
             "intake_fields": [{"name": "reason", "label": "What is it about", "type": "text", "required": True}]},
        ],
        "bookings": [("New patient", "Rosa Delgado", "+13055550171"), ("Follow-up", "Tom Becker", "+13055550172")],
    },
    "northside": {
        "calendars": {"Luis (technician)": [(dt.time(7), dt.time(18))],
                      "Priya (technician)": [(dt.time(7), dt.time(18))]},
        "types": [
            # Field service: the visit is promised "between 8 and 10"; the technician's day
            # holds the window plus the visit, and half an hour's drive after it.
            {"name": "Repair visit", "duration_minutes": 90, "arrival_window_minutes": 120, "step_minutes": 120,
             "buffer_after_minutes": 30, "min_notice_minutes": 180, "horizon_days": 30,
             "intake_fields": [{"name": "address", "label": "Service address", "type": "address", "required": True},
                               {"name": "problem", "label": "What is wrong", "type": "text", "required": True}]},
        ],
        "bookings": [("Repair visit", "Gail Turner", "+12125550171")],
    },
}


def calendars_demo_seed(slug: str) -> list[Calendar]:
    """The demo calendars of client ``slug`` (call inside its schema); [] for a client without any."""
    spec = CALENDARS.get(slug)
    if spec is None or Calendar.objects.exists():
        return list(Calendar.objects.all()) if spec else []
    with transaction.atomic():
        calendars = []
        for name, intervals in spec["calendars"].items():
            calendar = Calendar.objects.create(name=name)
            WorkingHours.objects.bulk_create([WorkingHours(calendar=calendar, weekday=day, start=start, end=end)
                                              for day in WEEKDAYS for start, end in intervals])
            calendars.append(calendar)
        for fields in spec["types"]:
            type_ = AppointmentType.objects.create(**fields)
            type_.calendars.set(calendars)
        ReminderRule.objects.create(kind=ReminderRule.Kind.CONFIRMATION, channel="sms", minutes_before=0)
        ReminderRule.objects.create(kind=ReminderRule.Kind.REMINDER, channel="sms", minutes_before=24 * 60)
        ReminderRule.objects.create(kind=ReminderRule.Kind.REMINDER, channel="sms", minutes_before=2 * 60)
        now = timezone.now()
        for type_name, person, phone in spec["bookings"]:
            type_ = AppointmentType.objects.get(name=type_name)
            found = appointment_slots(type_, count=1, after=now + dt.timedelta(days=1))
            if found:
                calendar = Calendar.objects.get(pk=found[0].calendar_id)
                try:
                    appointment_book(type_=type_, calendar=calendar, start=found[0].start, by="demo", name=person,
                                     phone=phone)
                except BookingRefused:  # the demo has been seeded before in this schema
                    pass
    return calendars
