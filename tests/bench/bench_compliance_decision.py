"""One gate decision with its ledger write: p50 / p99 over 2 000 decisions.

Run with services up: `python tests/bench/bench_compliance_decision.py`. Each decision is
what the dialer will do before every dial: the rules, the number's facts (client DNC,
platform DNC, registry, consents, attempts), the judgement and an INSERT into the ledger,
committed. The registry holds 1 M numbers (B-tree lookups cost the same at 10 M, one level
deeper). The baseline, same run: a bare `SELECT 1` round trip. Target: p99 under 5 ms.
"""

from __future__ import annotations

import datetime as dt
import os
import random
import statistics
import tempfile
import time
import zoneinfo

from _django import bench_database, progress
from bench_compliance_registry import AREA_CODES, registry_file

DECISIONS = int(os.getenv("BENCH_DECISIONS", "2000"))
REGISTRY = int(os.getenv("BENCH_REGISTRY_ROWS", "1000000"))


def pct(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, round(p * len(ordered)) - 1)] * 1000


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp, bench_database("switchboard_bench_decision"):
        from django.db import connection
        from django_tenants.utils import tenant_context

        from compliance.services import contact_decide, registry_load
        from tenants import services

        client = services.client_provision(name="Bench client", slug="benchdecide", time_zone="America/New_York")
        path = os.path.join(tmp, "dnc-full.txt")
        registry_file(path, REGISTRY)
        registry_load(path=path, kind="full", file_date=dt.date.today(), loaded_by="bench")
        rng = random.Random(3)
        numbers = [f"+1{rng.choice(AREA_CODES)}{rng.randint(2_000_000, 9_999_999)}" for _ in range(DECISIONS + 100)]
        at = dt.datetime.now(zoneinfo.ZoneInfo("America/New_York")).replace(hour=14)

        samples = []
        with tenant_context(client):
            for i, number in enumerate(numbers):
                started = time.perf_counter()
                contact_decide(client=client, number=number, purpose="telemarketing", channel="voice", at=at,
                               asked_by="bench")
                if i >= 100:  # the first hundred warm the connection and caches
                    samples.append(time.perf_counter() - started)
                    if len(samples) % 200 == 0:
                        progress(len(samples), DECISIONS, "decisions")

            baseline = []
            with connection.cursor() as cursor:
                for _ in range(DECISIONS):
                    started = time.perf_counter()
                    cursor.execute("SELECT 1")
                    cursor.fetchone()
                    baseline.append(time.perf_counter() - started)

    print(f"single decision with ledger write (n={len(samples)}): p50 {pct(samples, 0.5):.2f} ms, "
          f"p99 {pct(samples, 0.99):.2f} ms, max {max(samples) * 1000:.1f} ms, mean {statistics.mean(samples) * 1000:.2f} ms")
    print(f"baseline SELECT 1 round trip: p50 {pct(baseline, 0.5):.3f} ms, p99 {pct(baseline, 0.99):.3f} ms")
    print(f"target p99 < 5 ms: {'met' if pct(samples, 0.99) < 5 else 'MISSED'}")


if __name__ == "__main__":
    main()
