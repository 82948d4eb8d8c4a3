"""One booking from its own process, for the race test: waits until the given instant, books
the slot, prints "booked <id>" or "taken <alternatives>" and exits."""

import os
import sys
import time

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "switchboard.settings")
django.setup()

import datetime as dt  # noqa: E402

from django_tenants.utils import schema_context  # noqa: E402

from calendars.models import AppointmentType, Calendar  # noqa: E402
from calendars.services import booking  # noqa: E402

schema, type_id, calendar_id, start, go_at, who = sys.argv[1:]
with schema_context(schema):
    type_, calendar = AppointmentType.objects.get(pk=type_id), Calendar.objects.get(pk=calendar_id)
    type_.calendars.count()  # the connection and the first queries are made before the start line
    time.sleep(max(0.0, float(go_at) - time.time()))
    try:
        made = booking.appointment_book(type_=type_, calendar=calendar, start=dt.datetime.fromisoformat(start), by=who)
        print(f"booked {made.pk}")
    except booking.SlotTaken as exc:
        print(f"taken {len(exc.alternatives)}")
