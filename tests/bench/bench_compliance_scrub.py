"""Scrubbing a 1 million-number list against 10 million registry entries, the client's DNC
list (100 k) and consents (100 k), the platform list (10 k) — in one pass.

Run with services up: `python tests/bench/bench_compliance_scrub.py` (BENCH_SCRUB_ROWS,
BENCH_REGISTRY_ROWS to change sizes). The figure: seconds for `contacts_scrub` of the whole
list (COPY into a temporary table, one set-based facts query, the same judge as single
decisions). The baseline, same run: a plain COPY of the same 1 M numbers into a table.
Target: under 30 s.
"""

from __future__ import annotations

import datetime as dt
import os
import random
import tempfile
import time
import zoneinfo

from _django import bench_database, progress
from bench_compliance_registry import AREA_CODES, registry_file

ROWS = int(os.getenv("BENCH_SCRUB_ROWS", "1000000"))
REGISTRY = int(os.getenv("BENCH_REGISTRY_ROWS", "10000000"))
CLIENT_ROWS = int(os.getenv("BENCH_CLIENT_ROWS", "100000"))


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp, bench_database("switchboard_bench_scrub"):
        from django.db import connection
        from django_tenants.utils import tenant_context

        from compliance.services import contacts_scrub, registry_load
        from tenants import services

        client = services.client_provision(name="Bench client", slug="benchscrub", time_zone="America/New_York")
        path = os.path.join(tmp, "dnc-full.txt")
        registry_file(path, REGISTRY)
        started = time.perf_counter()
        registry_load(path=path, kind="full", file_date=dt.date.today(), loaded_by="bench",
                      progress=lambda d, t: progress(d, t, "registry"))
        print(f"  (registry of {REGISTRY:,} loaded in {time.perf_counter() - started:.1f} s)")

        # The list: numbers in the same area codes, so some are on the registry and the lists.
        rng = random.Random(7)
        numbers = [f"+1{rng.choice(AREA_CODES)}{rng.randint(2_000_000, 9_999_999)}" for _ in range(ROWS)]
        with tenant_context(client), connection.cursor() as cursor:
            for table, extra in (("compliance_dncentry", "'portal', 'bench list', 'bench', now(), '', ''"),
                                 ("compliance_consent", "'express_written', 'web_form', '', now() - interval '1 day', "
                                                        "'bench', now(), ''")):
                columns = ("number, source, reason, added_by, created, removed_by, removed_reason"
                           if table == "compliance_dncentry" else
                           "number, kind, source, evidence, obtained_at, recorded_by, created, revoked_reason")
                sample = rng.sample(numbers, CLIENT_ROWS)
                cursor.execute(f"INSERT INTO {table} ({columns}) SELECT DISTINCT unnest(%s::text[]), {extra}", [sample])
            cursor.execute("INSERT INTO public.compliance_platform_platformdncentry (number, reason, source, added_by, "
                           "created) SELECT DISTINCT unnest(%s::text[]), 'bench', 'bench', 'bench', now()",
                           [rng.sample(numbers, CLIENT_ROWS // 10)])
            cursor.execute("ANALYZE compliance_dncentry; ANALYZE compliance_consent")

        at = dt.datetime(2025, 6, 3, 14, 0, tzinfo=zoneinfo.ZoneInfo("America/New_York"))
        with tenant_context(client):
            started = time.perf_counter()
            result = contacts_scrub(client=client, contacts=numbers, purpose="telemarketing", channel="voice", at=at,
                                    asked_by="bench", progress=lambda stage, n: progress(n, ROWS, stage.ljust(8)))
            seconds = time.perf_counter() - started

        with connection.cursor() as cursor:
            cursor.execute("CREATE TABLE bench_list (number text)")
            payload = "\n".join(numbers).encode() + b"\n"
            started = time.perf_counter()
            with cursor.cursor.copy("COPY bench_list FROM STDIN") as copy:
                for i in range(0, len(payload), 1 << 20):
                    copy.write(payload[i:i + (1 << 20)])
            baseline = time.perf_counter() - started

    print(f"scrub ({ROWS:,} numbers vs {REGISTRY:,} registry, {CLIENT_ROWS:,} client DNC, {CLIENT_ROWS:,} consents, "
          f"{CLIENT_ROWS // 10:,} platform DNC): {seconds:.1f} s, {ROWS / seconds:,.0f} numbers/s; "
          f"{result.allowed:,} allowed, {result.denied:,} denied")
    print("  denied by: " + ", ".join(f"{code} {n:,}" for code, n in result.by_code.most_common()))
    print(f"baseline (plain COPY of the same {ROWS:,} numbers): {baseline:.2f} s, {ROWS / baseline:,.0f} rows/s")
    print(f"target < 30 s: {'met' if seconds < 30 else 'MISSED'}")


if __name__ == "__main__":
    main()
