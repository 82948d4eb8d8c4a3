"""Loading the National Do Not Call Registry from the FTC's files, with PostgreSQL COPY.

- A **full** file replaces the registry: the numbers are copied into a fresh table, given
  their primary key (deduplicating only if the file repeats numbers), and swapped in for
  the old one in the same transaction — readers keep the old data until the commit and
  wait only for the swap itself.
- A **change** file adds and deletes: each line is a number, optionally with a flag
  token ``A``/``ADD`` or ``D``/``DEL``/``DELETE`` before or after it (no flag: addition,
  or deletion with ``deletions=True``). The last line about a number wins.

One number per line, 10 digits with or without separators (``2025550123``,
``202-555-0123``, ``(202) 555-0123``, ``202,5550123``), optionally prefixed with 1.
Malformed lines are reported by line number; the rest are loaded.
"""

from __future__ import annotations

import datetime as dt
import os
import re
import time
from dataclasses import dataclass, field
from typing import Callable

from django.db import IntegrityError, connection, transaction

from compliance.platform.models import RegistryLoad, RegistryNumber

TABLE = RegistryNumber._meta.db_table
NEXT = f"{TABLE}_next"
_SEPARATORS = b" \t\r\n-().,;+/_"
_FLAGS = {b"A": "A", b"ADD": "A", b"D": "D", b"DEL": "D", b"DELETE": "D"}
_TOKENS = re.compile(rb"[A-Za-z]+")
MALFORMED_KEPT = 1000  # malformed lines remembered with their text
BLOCK = 1 << 20  # bytes handed to COPY at a time


@dataclass
class LoadReport:
    lines: int = 0
    accepted: int = 0
    malformed: list[tuple[int, str]] = field(default_factory=list)
    malformed_count: int = 0

    def bad(self, line_no: int, raw: bytes, why: str) -> None:
        self.malformed_count += 1
        if len(self.malformed) < MALFORMED_KEPT:
            self.malformed.append((line_no, f"{raw.decode('utf-8', 'replace').strip()[:60]!r}: {why}"))


def _digits(raw: bytes) -> bytes | None:
    digits = raw.translate(None, _SEPARATORS)
    if len(digits) == 11 and digits[:1] == b"1":
        digits = digits[1:]
    # NANP: 10 digits, area code and exchange not starting with 0 or 1.
    if len(digits) == 10 and digits.isdigit() and digits[0] > 49 and digits[3] > 49:
        return digits
    return None


def _lines(path: str, report: LoadReport, progress: Callable[[int, int], None] | None):
    size = os.path.getsize(path) or 1
    read = 0
    with open(path, "rb") as handle:
        for line_no, raw in enumerate(handle, start=1):
            read += len(raw)
            if line_no % 500_000 == 0 and progress:
                progress(read, size)
            report.lines = line_no
            if raw.isspace() or not raw:
                continue
            yield line_no, raw
    if progress:
        progress(size, size)


def _full_blocks(path: str, report: LoadReport, progress):
    out: list[bytes] = []
    pending = 0
    for line_no, raw in _lines(path, report, progress):
        digits = _digits(raw)
        if digits is None:
            report.bad(line_no, raw, "not a 10-digit US number")
            continue
        out.append(digits)
        pending += 11
        if pending >= BLOCK:
            report.accepted += len(out)
            yield b"\n".join(out) + b"\n"
            out, pending = [], 0
    if out:
        report.accepted += len(out)
        yield b"\n".join(out) + b"\n"


def _change_rows(path: str, report: LoadReport, progress, deletions: bool):
    default = "D" if deletions else "A"
    for line_no, raw in _lines(path, report, progress):
        flags = _TOKENS.findall(raw)
        op = default
        if flags:
            if len(flags) > 1 or flags[0].upper() not in _FLAGS:
                report.bad(line_no, raw, "unknown flag (use A/ADD or D/DEL/DELETE)")
                continue
            op = _FLAGS[flags[0].upper()]
            raw = _TOKENS.sub(b"", raw)
        digits = _digits(raw)
        if digits is None:
            report.bad(line_no, raw, "not a 10-digit US number")
            continue
        report.accepted += 1
        yield line_no, int(digits), op


def registry_load(
    *, path: str, kind: str, file_date: dt.date, loaded_by: str, deletions: bool = False,
    progress: Callable[[int, int], None] | None = None,
) -> tuple[RegistryLoad, LoadReport]:
    """Load one FTC file into the registry (public schema) and record the load. See the module doc."""
    started = time.perf_counter()
    report = LoadReport()
    added = deleted = 0
    with transaction.atomic(), connection.cursor() as cursor:
        if kind == RegistryLoad.Kind.FULL:
            cursor.execute(f"DROP TABLE IF EXISTS public.{NEXT}")
            cursor.execute(f"CREATE TABLE public.{NEXT} (number bigint NOT NULL)")
            with cursor.cursor.copy(f"COPY public.{NEXT} (number) FROM STDIN") as copy:
                for block in _full_blocks(path, report, progress):
                    copy.write(block)
            total = _primary_key(cursor, report.accepted)
            # The swap: readers wait only for these statements, then see the new data.
            cursor.execute(f"LOCK TABLE public.{TABLE} IN ACCESS EXCLUSIVE MODE")
            cursor.execute(f"DROP TABLE public.{TABLE}")
            cursor.execute(f"ALTER TABLE public.{NEXT} RENAME TO {TABLE}")
            cursor.execute(f"ALTER TABLE public.{TABLE} RENAME CONSTRAINT {NEXT}_pkey TO {TABLE}_pkey")
            cursor.execute(f"ANALYZE public.{TABLE}")
            added = total
        else:
            # ON COMMIT DROP, and dropped first too: two loads may share one outer transaction.
            cursor.execute("DROP TABLE IF EXISTS pg_temp.registry_change, pg_temp.registry_change_last")
            cursor.execute("CREATE TEMP TABLE registry_change (line bigint, number bigint, op char(1)) ON COMMIT DROP")
            with cursor.cursor.copy("COPY registry_change (line, number, op) FROM STDIN") as copy:
                for row in _change_rows(path, report, progress, deletions):
                    copy.write_row(row)
            cursor.execute("CREATE TEMP TABLE registry_change_last ON COMMIT DROP AS "
                           "SELECT DISTINCT ON (number) number, op FROM registry_change ORDER BY number, line DESC")
            cursor.execute(f"INSERT INTO public.{TABLE} (number) SELECT number FROM registry_change_last "
                           f"WHERE op = 'A' ON CONFLICT DO NOTHING")
            added = cursor.rowcount
            cursor.execute(f"DELETE FROM public.{TABLE} r USING registry_change_last c "
                           f"WHERE c.op = 'D' AND r.number = c.number")
            deleted = cursor.rowcount
            previous = RegistryLoad.objects.order_by("-loaded_at").first()
            total = (previous.total_after if previous else 0) + added - deleted
        load = RegistryLoad.objects.create(
            file_name=os.path.basename(path)[:300], kind=kind, file_date=file_date, lines=report.lines,
            added=added, deleted=deleted, malformed=report.malformed_count,
            malformed_sample=[list(m) for m in report.malformed[:100]], total_after=max(total, 0),
            seconds=round(time.perf_counter() - started, 3), loaded_by=loaded_by[:200],
        )
    return load, report


def _primary_key(cursor, rows: int) -> int:
    """Index the fresh table; if the file repeated numbers, deduplicate first. Returns the count."""
    try:
        with transaction.atomic():
            cursor.execute(f"ALTER TABLE public.{NEXT} ADD CONSTRAINT {NEXT}_pkey PRIMARY KEY (number)")
        return rows
    except IntegrityError:
        cursor.execute(f"CREATE TABLE public.{NEXT}_dedup AS SELECT DISTINCT number FROM public.{NEXT}")
        cursor.execute(f"DROP TABLE public.{NEXT}")
        cursor.execute(f"ALTER TABLE public.{NEXT}_dedup RENAME TO {NEXT}")
        cursor.execute(f"ALTER TABLE public.{NEXT} ALTER COLUMN number SET NOT NULL")
        cursor.execute(f"ALTER TABLE public.{NEXT} ADD CONSTRAINT {NEXT}_pkey PRIMARY KEY (number)")
        cursor.execute(f"SELECT count(*) FROM public.{NEXT}")
        return cursor.fetchone()[0]
