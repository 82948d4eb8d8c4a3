"""The slot search as the console and portal call it (``calendars.selectors.appointment_slots``:
the calendars' hours, exceptions and busy times read from PostgreSQL, then the search) for one
type over 20 calendars and 30 days with 500 existing bookings: p50 / p99 of the next 10 slots.

Baseline, same run and database: the naive way — walk the candidate slots and check each one
with its own query (``EXISTS`` an overlapping booking on that calendar) until 10 are free.
Target: p99 under 20 ms. Run with services up: `python tests/bench/bench_calendar_slots_db.py`.
"""

from __future__ import annotations

import datetime as dt
import os
import random
import statistics
import time
import zoneinfo

from _django import bench_database, progress

RUNS = int(os.getenv("BENCH_RUNS", "200"))
NAIVE_RUNS = int(os.getenv("BENCH_NAIVE_RUNS", "10"))
ZONES = ("America/New_York", "America/Chicago", "America/Los_Angeles")


def pct(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, max(0, round(p * len(ordered)) - 1))] * 1000


def main() -> None:
    with bench_database("switchboard_bench_slots_db"):
        from django.db import connection
        from django.db.backends.postgresql.psycopg_any import DateTimeTZRange
        from django_tenants.utils import schema_context

        from calendars.models import Appointment, AppointmentType, Calendar, WorkingHours
        from calendars.selectors import appointment_slots
        from calendars.services.booking import _times
        from tenants import services

        services.client_provision(name="Bench Clinic", slug="benchslots", time_zone="America/New_York")
        rng = random.Random(7)
        now = dt.datetime(2026, 10, 19, 7, 0, tzinfo=zoneinfo.ZoneInfo("America/New_York"))  # a fall-back inside
        with schema_context("benchslots"):
            type_ = AppointmentType.objects.create(name="Consult", duration_minutes=60, buffer_after_minutes=15,
                                                   step_minutes=30, min_notice_minutes=60, horizon_days=30)
            calendars = []
            for n in range(20):
                calendar = Calendar.objects.create(name=f"Provider {n}", time_zone=ZONES[n % 3])
                WorkingHours.objects.bulk_create([WorkingHours(calendar=calendar, weekday=d, start=dt.time(8),
                                                               end=dt.time(17)) for d in range(5)])
                calendars.append(calendar)
            type_.calendars.add(*calendars)
            made = 0
            while made < 500:  # 500 bookings, spread over the 30 days, none overlapping
                calendar = rng.choice(calendars)
                zone = zoneinfo.ZoneInfo(calendar.time_zone)
                day = (now + dt.timedelta(days=rng.randint(0, 29))).astimezone(zone).date()
                if day.weekday() > 4:
                    continue
                start = dt.datetime.combine(day, dt.time(8 + rng.randint(0, 7)), zone)
                times = _times(type_, start)
                if Appointment.objects.filter(calendar=calendar, blocked__overlap=times["blocked"]).exists():
                    continue
                Appointment.objects.create(calendar=calendar, type=type_, status="booked", **times)
                made += 1
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE")

            import cProfile
            import pstats

            profiler = cProfile.Profile()
            engine = []
            for n in range(RUNS + 10):
                if os.getenv("BENCH_PROFILE") and n == 10:
                    profiler.enable()
                started = time.perf_counter()
                found = appointment_slots(type_, count=10, now=now)
                if n >= 10:
                    engine.append(time.perf_counter() - started)
            assert len(found) == 10
            if os.getenv("BENCH_PROFILE"):  # where a search's time goes
                profiler.disable()
                pstats.Stats(profiler).sort_stats("cumulative").print_stats(25)

            def naive() -> list:
                free = []
                cursor_at = now + dt.timedelta(minutes=60)
                step = dt.timedelta(minutes=30)
                candidate = cursor_at.replace(minute=0 if cursor_at.minute < 30 else 30, second=0, microsecond=0)
                while len(free) < 10:
                    for calendar in calendars:
                        local = candidate.astimezone(zoneinfo.ZoneInfo(calendar.time_zone))
                        if local.weekday() > 4 or not (dt.time(8) <= local.time() and
                                                       (local + dt.timedelta(minutes=60)).time() <= dt.time(17)):
                            continue
                        blocked = DateTimeTZRange(candidate, candidate + dt.timedelta(minutes=75), "[)")
                        # One query per candidate: what the engine's three queries replace.
                        if not Appointment.objects.filter(calendar=calendar, status="booked",
                                                          blocked__overlap=blocked).exists():
                            free.append((candidate, calendar.pk))
                            if len(free) == 10:
                                break
                    candidate += step
                return free

            baseline = []
            for n in range(NAIVE_RUNS):
                started = time.perf_counter()
                expected = naive()
                baseline.append(time.perf_counter() - started)
                progress(n + 1, NAIVE_RUNS, "naive")
            assert [(s.start, s.calendar_id) for s in found] == expected, "the engine and the naive walk disagree"
    print(f"\nslot search from the database, 20 calendars x 30 days, 500 bookings, next 10 slots: "
          f"p50 {statistics.median(engine) * 1000:.1f} ms, p99 {pct(engine, 0.99):.1f} ms ({RUNS} runs; "
          f"target p99 < 20 ms: {'met' if pct(engine, 0.99) < 20 else 'MISSED'}); naive, a query per candidate: "
          f"p50 {statistics.median(baseline) * 1000:.1f} ms, max {max(baseline) * 1000:.1f} ms ({NAIVE_RUNS} runs); "
          f"both found the same slots")


if __name__ == "__main__":
    main()
