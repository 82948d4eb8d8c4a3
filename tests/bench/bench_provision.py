"""Provisioning one client with every tenant app: cloned template vs replayed migrations.

Run with `make bench` (or, services up, `python tests/bench/bench_provision.py`).
The figure: median seconds per client over 50 clients cloned from the template. The
baseline, measured in the same run on the same database: creating the schema by
replaying every tenant migration (what django-tenants does without a template).
"""

from __future__ import annotations

import os
import statistics
import sys
import time

from _django import bench_database, progress, summary

CLONED = int(os.getenv("BENCH_CLIENTS", "50"))
REPLAYED = int(os.getenv("BENCH_BASELINE_CLIENTS", "5"))


def main() -> None:
    with bench_database("switchboard_bench_provision"):
        from django.core.management import call_command
        from django.db import connection

        from tenants import services

        cloned = []
        for i in range(CLONED):
            started = time.perf_counter()
            services.client_provision(
                name=f"Bench client {i}", slug=f"bench{i}", time_zone="America/Chicago", languages=["en", "es"],
                numbers=[services.NumberSpec(f"+1312555{1000 + i:04d}")],
            )
            cloned.append(time.perf_counter() - started)
            progress(i + 1, CLONED, "cloned  ")

        replayed = []
        for i in range(REPLAYED):
            started = time.perf_counter()
            with connection.cursor() as cursor:
                cursor.execute(f'CREATE SCHEMA "replay{i}"')
            call_command("migrate_schemas", tenant=True, schema_name=f"replay{i}", interactive=False, verbosity=0)
            connection.set_schema_to_public()
            replayed.append(time.perf_counter() - started)
            progress(i + 1, REPLAYED, "replayed")

    tenth = max(1, CLONED // 10)
    print(f"  first {tenth}: {summary(cloned[:tenth])}; last {tenth}: {summary(cloned[-tenth:])}", file=sys.stderr)
    print(f"provision (clone template):   {summary(cloned)}")
    print(f"baseline (replay migrations): {summary(replayed)}")
    print(f"clone is {statistics.median(replayed) / statistics.median(cloned):.1f}x faster; "
          f"target median < 1000 ms: {'met' if statistics.median(cloned) < 1 else 'MISSED'}")


if __name__ == "__main__":
    main()
