"""Slot search: the next 10 free slots for one type over 20 calendars and 30 days with 500
existing bookings, against a naive baseline in the same run.

Run alone: `.venv/bin/python tests/bench/bench_calendar_slots.py` (no database, no Redis:
``calendars.slots`` is pure Python). Target: p99 under 20 ms. Exits 1 if it misses it or if
the engine and the naive reference disagree.

The world: 20 calendars in New York, Chicago and Los Angeles, Monday–Friday 8:00–18:00 local,
one type of 60 minutes with 10-minute buffers on a 30-minute step, 2 h notice, 30 days ahead.
Two ways of placing the 500 one-hour bookings (25 per calendar, buffers included):
- spread: at random working hours over the 30 days;
- booked solid: packed from the first morning, so every calendar's first 2.5 working days
  are full and the search has to walk past them.
The naive baseline (``naive_free_slots`` in tests/calendars/test_slots.py) walks every grid
time of every day and checks each candidate against every busy interval; it is run a few
times only (it takes around a second).
"""

from __future__ import annotations

import os
import random
import statistics
import sys
import time
from datetime import UTC, datetime, timedelta
from datetime import time as clock
from pathlib import Path
from zoneinfo import ZoneInfo

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))  # run alone: the repo on sys.path

from calendars.slots import Busy, CalendarSpec, TypeSpec, WeeklyHours, next_free_slots
from tests.calendars.test_slots import naive_free_slots

RUNS = int(os.getenv("BENCH_RUNS", "300"))
NAIVE_RUNS = int(os.getenv("BENCH_NAIVE_RUNS", "3"))
CALENDARS, DAYS, BOOKINGS, COUNT = 20, 30, 500, 10
ZONES = ["America/New_York", "America/Chicago", "America/Los_Angeles"]
NOW = datetime(2026, 10, 20, 11, tzinfo=UTC)  # a Tuesday; the 30 days cross the fall-back night
TYPE = TypeSpec(
    duration=timedelta(minutes=60), buffer_before=timedelta(minutes=10),
    buffer_after=timedelta(minutes=10), step=timedelta(minutes=30),
    min_notice=timedelta(hours=2), horizon=timedelta(days=DAYS),
)
HOURS = [WeeklyHours(wd, clock(8), clock(18)) for wd in range(5)]


def _working_starts(zone: str) -> list[datetime]:
    """Every whole working hour of the 30 days, as UTC."""
    zi = ZoneInfo(zone)
    day = NOW.astimezone(zi).date()
    out = []
    for _ in range(DAYS):
        if day.weekday() < 5:
            out += [datetime.combine(day, clock(h), zi).astimezone(UTC) for h in range(8, 18)]
        day += timedelta(days=1)
    return [s for s in out if s > NOW]


def world(placing: str, seed: int = 1) -> list[CalendarSpec]:
    rng = random.Random(seed)
    per = BOOKINGS // CALENDARS
    cals = []
    for i in range(CALENDARS):
        zone = ZONES[i % len(ZONES)]
        hours = _working_starts(zone)
        starts = sorted(rng.sample(hours, per)) if placing == "spread" else hours[:per]
        busy = [Busy(s - TYPE.buffer_before, s + TYPE.duration + TYPE.buffer_after) for s in starts]
        rng.shuffle(busy)  # the engine sorts; the rows come in any order
        cals.append(CalendarSpec(100 + i, zone, HOURS, [], busy))
    return cals


def _ms(samples: list[float]) -> tuple[float, float]:
    ordered = sorted(samples)
    return statistics.median(ordered) * 1000, ordered[min(len(ordered) - 1, int(len(ordered) * 0.99))] * 1000


def main() -> int:
    ok = True
    print(f"slot search: {CALENDARS} calendars x {DAYS} days, {BOOKINGS} bookings, count={COUNT}")
    for placing in ("spread", "booked solid"):
        cals = world(placing)
        t0 = time.perf_counter()
        slots = next_free_slots(TYPE, cals, now=NOW, count=COUNT)
        cold = time.perf_counter() - t0

        engine = []
        for _ in range(RUNS):
            t0 = time.perf_counter()
            next_free_slots(TYPE, cals, now=NOW, count=COUNT)
            engine.append(time.perf_counter() - t0)

        naive = []
        for _ in range(NAIVE_RUNS):
            t0 = time.perf_counter()
            expected = naive_free_slots(TYPE, cals, now=NOW, count=COUNT)
            naive.append(time.perf_counter() - t0)
        agree = slots == expected
        ok &= agree

        e50, e99 = _ms(engine)
        n50, n99 = _ms(naive)
        first = slots[0].local_start.strftime("%a %d %b %H:%M %Z") if slots else "none"
        print(f"  {placing:>12}: engine p50 {e50:6.2f} ms  p99 {e99:6.2f} ms  (first call {cold * 1000:.1f} ms, "
              f"{RUNS} runs) | naive p50 {n50:8.1f} ms  max {n99:8.1f} ms ({NAIVE_RUNS} runs) | "
              f"{'agree' if agree else 'DISAGREE'}; first slot {first}")
        ok &= e99 < 20
    print("target p99 < 20 ms:", "met" if ok else "MISSED")
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
