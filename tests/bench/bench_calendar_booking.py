"""Twenty concurrent bookings of one slot through the booking service, real parallel
transactions (a process and a connection each, as web and worker processes book in
production), BENCH_ROUNDS rounds of a fresh slot each:
exactly one booking per round, every other caller told "just taken" with alternatives; the
p50 / p99 of the answer each caller got. Baseline, same run: one uncontended booking.

Run with services up: `python tests/bench/bench_calendar_booking.py` (or `make bench`).
"""

from __future__ import annotations

import datetime as dt
import multiprocessing
import os
import statistics
import time
import zoneinfo

from _django import bench_database, progress

CALLERS = 20
ROUNDS = int(os.getenv("BENCH_ROUNDS", "25"))
NY = zoneinfo.ZoneInfo("America/New_York")
FORK = multiprocessing.get_context("fork")


def pct(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, max(0, round(p * len(ordered)) - 1))] * 1000


def main() -> None:
    with bench_database("switchboard_bench_booking"):
        from django.db import connection
        from django.utils import timezone
        from django_tenants.utils import schema_context

        from calendars.models import Appointment, AppointmentType, Calendar, WorkingHours
        from calendars.services import booking
        from tenants import services

        services.client_provision(name="Bench Clinic", slug="benchclinic", time_zone="America/New_York")
        with schema_context("benchclinic"):
            doctor = Calendar.objects.create(name="Dr. Bench", time_zone="America/New_York")
            WorkingHours.objects.bulk_create([WorkingHours(calendar=doctor, weekday=d, start=dt.time(0),
                                                           end=dt.time(23, 59, 59)) for d in range(7)])
            type_ = AppointmentType.objects.create(name="Consult", duration_minutes=30, step_minutes=30,
                                                   min_notice_minutes=0, horizon_days=60)
            type_.calendars.add(doctor)
        first = (timezone.now() + dt.timedelta(days=1)).astimezone(NY).replace(hour=0, minute=0, second=0,
                                                                             microsecond=0)
        answers, baseline = [], []
        for round_ in range(ROUNDS):
            start = first + dt.timedelta(hours=round_)
            # Forked processes: each opens its own connection (the parent's is closed first,
            # so no child shares its socket) and waits at the barrier before booking.
            connection.close()
            barrier, queue = FORK.Barrier(CALLERS), FORK.Queue()

            def book(n: int, start=start, barrier=barrier, queue=queue):
                with schema_context("benchclinic"):
                    Calendar.objects.filter(pk=doctor.pk).exists()  # connected before the start line
                    barrier.wait(60)
                    began = time.perf_counter()
                    try:
                        booking.appointment_book(type_=type_, calendar=doctor, start=start, by=f"agent {n}")
                        queue.put(("booked", time.perf_counter() - began))
                    except booking.SlotTaken as exc:
                        queue.put(("taken" if exc.alternatives else "no alternatives", time.perf_counter() - began))
                connection.close()

            callers = [FORK.Process(target=book, args=(n,)) for n in range(CALLERS)]
            for p in callers:
                p.start()
            outcomes = [queue.get(timeout=120) for _ in callers]
            for p in callers:
                p.join(60)
            kinds = [k for k, _ in outcomes]
            assert kinds.count("booked") == 1 and kinds.count("taken") == CALLERS - 1, kinds
            answers += [s for _, s in outcomes]
            # Baseline: the same booking with nobody else asking (the next half hour).
            with schema_context("benchclinic"):
                began = time.perf_counter()
                booking.appointment_book(type_=type_, calendar=doctor, start=start + dt.timedelta(minutes=30),
                                         by="alone")
                baseline.append(time.perf_counter() - began)
            progress(round_ + 1, ROUNDS, "rounds")
        with schema_context("benchclinic"):
            booked = Appointment.objects.filter(status="booked").count()
    print(f"\n{CALLERS} concurrent bookings of one slot, {ROUNDS} rounds: exactly one booking each round "
          f"({booked} booked in all, {ROUNDS * (CALLERS - 1)} told \"just taken\" with alternatives)")
    print(f"answer p50 {statistics.median(answers) * 1000:.0f} ms, p99 {pct(answers, 0.99):.0f} ms; "
          f"baseline (one booking, nobody else asking) p50 {statistics.median(baseline) * 1000:.0f} ms, "
          f"p99 {pct(baseline, 0.99):.0f} ms ({CALLERS} processes on {os.cpu_count()} cores)")


if __name__ == "__main__":
    main()
