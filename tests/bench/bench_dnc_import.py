"""Importing a 50 000-row CSV into a client's DNC list: the background job's work, in bulk.

Run with services up: `python tests/bench/bench_dnc_import.py` (BENCH_DNC_ROWS to change the
size, BENCH_DNC_OLD_ROWS for the old path's sample). The figure: seconds for `dnc_import_run`
— what the Celery worker does with an upload: decode, check every row (phonenumbers), COPY
the good rows into a temporary table, one INSERT … SELECT per 10 000 (entries, consents
revoked, ledger rows), the outcome — on a list that already holds 10 % of the numbers (and
2 % removed) and consents for 10 %. The file has CR-only line endings, 1 % bad rows and
0.5 % duplicates. The old path, one `opt_out_record` per row (what the request did before),
is timed on a sample of the same file and scaled. The baseline, same run: a plain COPY of the
same numbers into a bare table.
"""

from __future__ import annotations

import os
import random
import sys
import time

from _django import bench_database

ROWS = int(os.getenv("BENCH_DNC_ROWS", "50000"))
OLD_ROWS = int(os.getenv("BENCH_DNC_OLD_ROWS", "2000"))
AREA_CODES = (201, 202, 212, 213, 305, 310, 312, 407, 415, 512, 602, 617, 702, 713, 718, 786, 813, 818, 917, 918)


def numbers_sample(rows: int, *, seed: int = 3) -> list[str]:
    rng = random.Random(seed)
    seen: set[str] = set()
    while len(seen) < rows:
        seen.add(f"{rng.choice(AREA_CODES)}{rng.randint(2_000_000, 9_999_999)}")
    return sorted(seen, key=lambda _: rng.random())


def csv_file(numbers: list[str], *, seed: int = 4) -> bytes:
    """number,reason with CR-only endings (old Mac Excel), separators on some, bad rows and repeats."""
    rng = random.Random(seed)
    lines = ["number,reason"]
    for i, n in enumerate(numbers):
        shown = f"({n[:3]}) {n[3:6]}-{n[6:]}" if i % 3 == 0 else n
        lines.append(f"{shown},asked on the phone {i}")
        if i % 100 == 50:
            lines.append(f"not-a-number-{i},typo")
        if i % 200 == 10:
            lines.append(f"{numbers[rng.randrange(i + 1)]},listed again")
    return ("\r".join(lines) + "\r").encode()


def main() -> None:
    numbers = numbers_sample(ROWS)
    data = csv_file(numbers)
    with bench_database("switchboard_bench_dnc_import"):
        from django.db import connection, transaction
        from django_tenants.utils import tenant_context

        from compliance.models import DncImport
        from compliance.rules import OptOutSource
        from compliance.services import dnc_import_run, opt_out_record
        from tenants import services

        client = services.client_provision(name="Bench client", slug="benchdncimport", time_zone="America/New_York")
        rng = random.Random(5)
        e164 = [f"+1{n}" for n in numbers]
        with tenant_context(client), connection.cursor() as cursor:
            cursor.execute("INSERT INTO compliance_dncentry (number, source, reason, added_by, created, removed_by, "
                           "removed_reason) SELECT unnest(%s::text[]), 'portal', 'earlier', 'bench', now(), '', ''",
                           [rng.sample(e164, ROWS // 10)])
            cursor.execute("INSERT INTO compliance_dncentry (number, source, reason, added_by, created, removed_at, "
                           "removed_by, removed_reason) SELECT unnest(%s::text[]), 'portal', 'earlier', 'bench', "
                           "now(), now(), 'bench', 'lifted'", [rng.sample(e164[ROWS // 2:], ROWS // 50)])
            cursor.execute("INSERT INTO compliance_consent (number, kind, source, evidence, obtained_at, recorded_by, "
                           "created, revoked_reason) SELECT unnest(%s::text[]), 'express', 'web_form', '', now(), "
                           "'bench', now(), ''", [rng.sample(e164, ROWS // 10)])
            cursor.execute("ANALYZE compliance_dncentry; ANALYZE compliance_consent")

        with tenant_context(client):
            job = DncImport.objects.create(filename="bench.csv", data=data, added_by="bench")
            started = time.perf_counter()
            job = dnc_import_run(import_id=job.pk)
            seconds = time.perf_counter() - started
            assert job.status == "done", job.failure

        # The old path on a sample: one opt_out_record per row, in one transaction, as the view did.
        old_numbers = numbers_sample(OLD_ROWS, seed=9)
        with tenant_context(client):
            started = time.perf_counter()
            with transaction.atomic():
                for n in old_numbers:
                    opt_out_record(client=client, number=n, source=OptOutSource.CSV_IMPORT, added_by="bench",
                                   reason="old path")
            old_seconds = time.perf_counter() - started

        with connection.cursor() as cursor:
            cursor.execute("CREATE TABLE bench_copy (number text)")
            payload = "\n".join(e164).encode() + b"\n"
            started = time.perf_counter()
            with cursor.cursor.copy("COPY bench_copy FROM STDIN") as copy:
                copy.write(payload)
            baseline = time.perf_counter() - started

    print(f"DNC import ({ROWS:,} numbers, {len(data) / 1e6:.1f} MB, CR line endings): {seconds:.1f} s, "
          f"{ROWS / seconds:,.0f} rows/s; {job.added:,} added, {job.already:,} already listed, "
          f"{job.errors_count:,} lines refused")
    print(f"old path (one opt_out_record per row), {OLD_ROWS:,} rows: {old_seconds:.1f} s, "
          f"scaled to {ROWS:,}: {old_seconds * ROWS / OLD_ROWS:.0f} s")
    print(f"baseline (plain COPY of the same numbers, no parsing, no index): {baseline:.2f} s")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
