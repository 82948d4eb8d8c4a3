"""Loading the National DNC Registry: 10 million numbers from a file, with COPY.

Run with services up: `python tests/bench/bench_compliance_registry.py` (BENCH_REGISTRY_ROWS
to change the size). The figure: seconds and rows/s for `registry_load` of a full file
(parse every line, COPY, primary key, swap in). The baseline, same run, same file: a
plain `COPY` of the file into an unindexed table — the machine's raw COPY speed.
Target: under 60 s for 10 M.
"""

from __future__ import annotations

import datetime as dt
import os
import random
import sys
import tempfile
import time

from _django import bench_database, progress

ROWS = int(os.getenv("BENCH_REGISTRY_ROWS", "10000000"))
AREA_CODES = (201, 202, 212, 213, 305, 310, 312, 407, 415, 512, 602, 617, 702, 713, 718, 786, 813, 818, 917, 918)


def registry_file(path: str, rows: int, *, seed: int = 1) -> None:
    """Write ``rows`` distinct 10-digit numbers, some with separators, as the FTC's files vary."""
    rng = random.Random(seed)
    per_code = rows // len(AREA_CODES) + 1
    written = 0
    with open(path, "w") as out:
        for code in AREA_CODES:
            # A random sample of the area code's 8 M subscriber numbers, in order (as the FTC sorts them).
            for n in sorted(rng.sample(range(2_000_000, 10_000_000), min(per_code, rows - written))):
                out.write(f"{code}{n}\n" if n % 10 else f"{code}-{n // 10000:03d}-{n % 10000:04d}\n")
            written += min(per_code, rows - written)
            progress(written, rows, "writing ")
            if written >= rows:
                break


def main() -> None:
    with tempfile.TemporaryDirectory() as tmp, bench_database("switchboard_bench_registry"):
        from django.db import connection

        from compliance.services import registry_load

        path = os.path.join(tmp, "dnc-full.txt")
        registry_file(path, ROWS)
        size_mb = os.path.getsize(path) / 1e6

        def bar(done: int, total: int) -> None:
            progress(done, total, "loading ")

        started = time.perf_counter()
        load, report = registry_load(path=path, kind="full", file_date=dt.date.today(), loaded_by="bench", progress=bar)
        seconds = time.perf_counter() - started

        # The baseline: the same numbers (separators removed beforehand) straight into a bare table.
        clean = os.path.join(tmp, "clean.txt")
        with open(path, "rb") as src, open(clean, "wb") as dst:
            for line in src:
                dst.write(line.replace(b"-", b""))
        with connection.cursor() as cursor:
            cursor.execute("CREATE TABLE bench_copy_logged (number bigint)")
            started = time.perf_counter()
            with open(clean, "rb") as handle, cursor.cursor.copy("COPY bench_copy_logged FROM STDIN") as copy:
                while block := handle.read(1 << 20):
                    copy.write(block)
            baseline = time.perf_counter() - started

    print(f"registry load (full file, {ROWS:,} numbers, {size_mb:.0f} MB): {seconds:.1f} s, "
          f"{load.total_after / seconds:,.0f} rows/s; {report.malformed_count} malformed; "
          f"{load.total_after:,} in the registry")
    print(f"baseline (plain COPY of the same numbers, no parsing, no index): {baseline:.1f} s, {ROWS / baseline:,.0f} rows/s")
    print(f"target < 60 s: {'met' if seconds < 60 else 'MISSED'}")
    sys.stdout.flush()


if __name__ == "__main__":
    main()
