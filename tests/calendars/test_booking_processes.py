"""The booking race between processes, as production runs it (several web and worker
processes, each with its own connection): eight processes booking one slot at the same
instant make exactly one booking; the seven others are told "just taken" with alternatives.
The slot's day is a week ahead of the real clock (the processes run on real time)."""

from __future__ import annotations

import datetime as dt
import subprocess
import sys
import time
import zoneinfo

from django_tenants.utils import schema_context

from calendars.models import Appointment, AppointmentType, Calendar, WorkingHours
from tests.processes import ROOT, _env

NY = zoneinfo.ZoneInfo("America/New_York")


def test_eight_processes_booking_one_slot_make_exactly_one_booking(world, django_db_blocker):
    with django_db_blocker.unblock(), schema_context("bobsplumbing"):
        tom = Calendar.objects.create(name="Process race Tom", time_zone="America/New_York")
        WorkingHours.objects.bulk_create([WorkingHours(calendar=tom, weekday=d, start=dt.time(8), end=dt.time(17))
                                          for d in range(7)])
        type_ = AppointmentType.objects.create(name="Process race visit", duration_minutes=60, step_minutes=60,
                                               min_notice_minutes=60, horizon_days=30)
        type_.calendars.add(tom)
    start = (dt.datetime.now(NY) + dt.timedelta(days=7)).replace(hour=13, minute=0, second=0, microsecond=0)
    try:
        go_at = time.time() + 8  # every process started and connected by then (a late one only loses)
        runs = [subprocess.Popen([sys.executable, str(ROOT / "tests/calendars/_book_once.py"), "bobsplumbing",
                                  str(type_.pk), str(tom.pk), start.isoformat(), str(go_at), f"process {n}"],
                                 cwd=ROOT, env=_env(PYTHONPATH=str(ROOT)), stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
                for n in range(8)]
        outputs = [run.communicate(timeout=60) for run in runs]
        said = [out.strip() for out, _ in outputs]
        assert all(run.returncode == 0 for run in runs), [err[-500:] for _, err in outputs]
        assert sum(s.startswith("booked") for s in said) == 1, said
        assert sum(s.startswith("taken") and s != "taken 0" for s in said) == 7, said
        with django_db_blocker.unblock(), schema_context("bobsplumbing"):
            assert Appointment.objects.filter(calendar=tom, status="booked").count() == 1
    finally:
        with django_db_blocker.unblock(), schema_context("bobsplumbing"):
            Appointment.objects.filter(calendar=tom).delete()
            type_.delete()
            tom.delete()
