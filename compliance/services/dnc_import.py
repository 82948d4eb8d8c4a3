"""CSV imports into a client's DNC list: read any CSV a spreadsheet writes, refuse each bad
line by line, field and reason, and write the good rows in bulk.

- **Reading.** UTF-8 (with or without a BOM), UTF-16 with a BOM (Excel's "Unicode text"),
  else Windows-1252; CR, LF or CRLF line endings. A workbook, a PDF or a file of NUL bytes
  is refused as a whole, saying how to save it as CSV; a NUL inside a line refuses that line.
- **Checking** (``dnc_rows_check``): one number per row, an optional reason in the second
  column (kept to 300 characters), a header row allowed. A number listed twice keeps its
  first row; the others are reported.
- **Writing** (``dnc_rows_write``): the good rows are copied into a temporary table and added
  with one ``INSERT … SELECT`` per batch, as ``opt_out_record`` adds one: a number with an
  active entry is left as it is (counted "already on the list"), a number whose earlier entry
  was removed gets a new entry (the removed one stays on record), its consents are revoked and
  the ledger gets one "opt-out" row per number added. All in one transaction: the list gets
  every good row or, on a failure, none.
- **In the background** (``dnc_import_start`` → ``compliance.tasks.dnc_import_run_task`` →
  ``dnc_import_run``): the portal stores the file in a ``DncImport`` and the job records its
  progress there, for the page's progress bar, and its outcome, with every refused line.
"""

from __future__ import annotations

import csv
import datetime as dt
import io
import json
import logging
import re
from collections.abc import Callable
from dataclasses import asdict, dataclass, field

from django.core.exceptions import ValidationError
from django.db import connection, transaction
from django.utils import timezone

from compliance.models import Consent, DncEntry, DncImport, LedgerEntry
from compliance.rules import OptOutSource
from tenants.models import Client
from tenants.phone import to_e164

logger = logging.getLogger(__name__)

MAX_IMPORT_BYTES = 5 * 1024 * 1024  # the portal's limit; bigger files are loaded with `manage.py dnc_import`
ERRORS_KEPT = 100_000  # refused lines listed one by one; beyond, only counted
BATCH = 10_000  # rows per INSERT … SELECT
PROGRESS_EVERY = 2_000  # rows checked between two progress reports
HEADER_WORDS = frozenset({"number", "phone", "phone number", "telephone", "mobile", "cell"})
MAX_NUMBER_CHARS = 40  # the portal's own number field; longer is not a phone number
REASON_CHARS = DncEntry._meta.get_field("reason").max_length
_LINE_END = re.compile(r"\r\n|\r|\n")

Progress = Callable[[int, int], None]  # (lines done, lines in the file)


@dataclass(frozen=True)
class RowError:
    line: int  # in the file, from 1 (a quoted field over several lines: the line it starts on)
    field: str  # "number", "reason" or "row"
    reason: str

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class DncImportResult:
    added: int = 0
    already: int = 0
    errors: list[RowError] = field(default_factory=list)
    lines: int = 0


@dataclass(frozen=True)
class GoodRow:
    line: int
    number: str  # E.164
    reason: str


# --- Reading ------------------------------------------------------------------------------

def dnc_file_decode(*, data: bytes) -> str:
    """The file's text, or a ValidationError saying why it is not a CSV (a selector: writes nothing)."""
    if data.startswith(b"PK\x03\x04"):
        raise ValidationError("This is a spreadsheet workbook (.xlsx or .ods), not a CSV file: open it and save it "
                              "as “CSV UTF-8”, then import that file.")
    if data.startswith(b"%PDF"):
        raise ValidationError("This is a PDF, not a CSV file: export the list as CSV and import that file.")
    if data.startswith((b"\xff\xfe", b"\xfe\xff")):
        try:
            text = data.decode("utf-16")
        except UnicodeDecodeError as exc:
            raise ValidationError("This file says it is UTF-16 but is not readable as such: save it as "
                                  "“CSV UTF-8” and import it again.") from exc
    else:
        try:
            text = data.decode("utf-8-sig")
        except UnicodeDecodeError:
            # Not UTF-8: what Excel on Windows writes for "CSV" is Windows-1252.
            text = data.decode("cp1252", errors="replace")
    if text.count("\x00") > len(text) // 10:
        raise ValidationError("This file is not text (it is full of NUL bytes; a UTF-16 file without its "
                              "byte-order mark looks like this): save it as “CSV UTF-8” and import it again.")
    if not text.strip():
        raise ValidationError("The file is empty.")
    return text


def _line_count(text: str) -> int:
    ends = len(_LINE_END.findall(text))
    return ends + (0 if _LINE_END.search(text[-2:]) else 1)


# --- Checking -----------------------------------------------------------------------------

def dnc_rows_check(*, text: str, progress: Progress | None = None) -> tuple[list[GoodRow], list[RowError]]:
    """The good rows and every refused one, in file order (a selector: writes nothing)."""
    total = _line_count(text)
    good: list[GoodRow] = []
    errors: list[RowError] = []
    first_line_of: dict[str, int] = {}
    header_possible = True
    # newline="": the csv module reads CR, LF and CRLF endings itself, and quoted newlines.
    reader = csv.reader(io.StringIO(text, newline=""))
    checked = 0
    while True:
        start = reader.line_num + 1
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            errors.append(RowError(start, "row", f"not a CSV row ({exc})."))
            continue
        finally:
            checked += 1
            if progress and checked % PROGRESS_EVERY == 0:
                progress(min(reader.line_num, total), total)
        if not any(cell.strip() for cell in row):
            continue
        raw = row[0].strip()
        if header_possible:
            header_possible = False
            if raw.lower() in HEADER_WORDS:
                continue
        spans = f" (a quote opened on line {start} is closed only on line {reader.line_num})" \
            if reader.line_num > start else ""
        problem = _row_problem(row, raw)
        if problem:
            errors.append(RowError(start, problem[0], problem[1] + spans))
            continue
        try:
            e164 = to_e164(raw)
        except ValidationError as exc:
            errors.append(RowError(start, "number", exc.messages[0] + spans))
            continue
        if e164 in first_line_of:
            errors.append(RowError(start, "number", f"{e164} is listed twice (first on line {first_line_of[e164]}); "
                                                    "the first row is kept."))
            continue
        first_line_of[e164] = start
        good.append(GoodRow(start, e164, row[1].strip()[:REASON_CHARS] if len(row) > 1 else ""))
    if progress:
        progress(total, total)
    return good, errors


def _row_problem(row: list[str], raw: str) -> tuple[str, str] | None:
    if "\x00" in row[0]:
        return "number", "contains a NUL byte, which is never part of a phone number (was the file saved as CSV?)."
    if len(row) > 1 and "\x00" in row[1]:
        return "reason", "contains a NUL byte, which text cannot hold (was the file saved as CSV?)."
    if len(raw) > MAX_NUMBER_CHARS:
        return "number", f"{len(raw)} characters is too long for a phone number."
    return None


# --- Writing ------------------------------------------------------------------------------

def _write_sql() -> str:
    entry, consent, ledger = DncEntry._meta.db_table, Consent._meta.db_table, LedgerEntry._meta.db_table
    return f"""
        WITH added AS (
            INSERT INTO {entry} (number, source, reason, added_by, created, removed_by, removed_reason)
            SELECT r.number, %(source)s, r.reason, %(added_by)s, %(at)s, '', ''
              FROM dnc_import_rows r
             WHERE r.ord >= %(low)s AND r.ord < %(high)s
             ORDER BY r.ord
            ON CONFLICT (number) WHERE removed_at IS NULL DO NOTHING
            RETURNING number, reason
        ), revoked AS (
            UPDATE {consent} c SET revoked_at = %(at)s, revoked_reason = %(revoked_reason)s
              FROM added
             WHERE c.number = added.number AND c.revoked_at IS NULL
        ), ledger AS (
            INSERT INTO {ledger} (created, at, event, number, purpose, channel, outcome, reasons, rule_versions,
                                  asked_by, campaign_id, detail)
            SELECT %(at)s, %(at)s, %(event)s, added.number, '', '', '', %(reasons)s::jsonb, '{{}}'::jsonb,
                   %(added_by)s, NULL, added.reason
              FROM added
            RETURNING 1
        )
        SELECT count(*) FROM ledger
    """


def dnc_rows_write(*, rows: list[GoodRow], added_by: str, source: str = OptOutSource.CSV_IMPORT,
                   at: dt.datetime | None = None, progress: Progress | None = None) -> int:
    """Add ``rows`` to the DNC list, revoke their consents, write the ledger; the number added.

    Run inside the caller's transaction (the temporary table lives until its commit).
    """
    if source not in OptOutSource.values:
        raise ValidationError(f"Unknown opt-out source “{source}”.")
    if not connection.in_atomic_block:
        raise RuntimeError("dnc_rows_write runs inside a transaction")
    at = at or timezone.now()
    label = OptOutSource(source).label
    params = {"source": source, "added_by": added_by[:200], "at": at, "event": LedgerEntry.Event.OPT_OUT,
              "revoked_reason": f"Opt-out ({label})",
              "reasons": json.dumps([{"code": source, "text": f"Opted out: {label}.", "deny": False}])}
    added = 0
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS pg_temp.dnc_import_rows")
        cursor.execute(f"CREATE TEMP TABLE dnc_import_rows (ord integer PRIMARY KEY, number varchar(16), "
                       f"reason varchar({REASON_CHARS})) ON COMMIT DROP")
        with cursor.cursor.copy("COPY dnc_import_rows (ord, number, reason) FROM STDIN") as copy:
            for ord_, row in enumerate(rows):
                copy.write_row((ord_, row.number, row.reason))
        sql = _write_sql()
        for low in range(0, len(rows), BATCH):
            cursor.execute(sql, {**params, "low": low, "high": low + BATCH})
            added += cursor.fetchone()[0]
            if progress:
                progress(min(low + BATCH, len(rows)), len(rows))
    return added


def dnc_csv_import(*, client: Client, data: str | bytes, added_by: str, source: str = OptOutSource.CSV_IMPORT,
                   progress: Progress | None = None) -> DncImportResult:
    """Add the numbers of a CSV (``number[,reason]``, header optional) to the client's DNC list, now.

    Every row is checked first; the good rows are written in one transaction and the bad
    ones reported by line — so the list gets all the good rows or, on a failure, none.
    Raises ValidationError for a file that is not a CSV at all. Runs in the client's schema.
    """
    text = dnc_file_decode(data=data) if isinstance(data, bytes) else data
    good, errors = dnc_rows_check(text=text, progress=progress)
    with transaction.atomic():
        added = dnc_rows_write(rows=good, added_by=added_by, source=source)
    return DncImportResult(added=added, already=len(good) - added, errors=errors, lines=_line_count(text))


# --- In the background --------------------------------------------------------------------

def dnc_import_start(*, client: Client, data: bytes, filename: str, added_by: str) -> DncImport:
    """Store an uploaded CSV and queue its import (after the commit); refuse a file that is no CSV."""
    if len(data) > MAX_IMPORT_BYTES:
        raise ValidationError(f"That file is over {MAX_IMPORT_BYTES // (1024 * 1024)} MB; split it, or ask us to "
                              "load it.")
    dnc_file_decode(data=data)  # a workbook or a binary file is refused now, not after a wait
    job = DncImport.objects.create(filename=filename[:255], data=data, added_by=added_by[:200])
    from compliance.tasks import dnc_import_run_task  # the task calls this module's services

    # Sent inside the client's schema: tenant-schemas-celery runs the task there.
    transaction.on_commit(lambda: dnc_import_run_task.delay(job.pk))
    return job


def dnc_import_run(*, import_id: int) -> DncImport | None:
    """Run a queued import (the task's body). A finished one is left alone, so a redelivered
    task changes nothing; the outcome is written in the same transaction as the numbers."""
    job = DncImport.objects.filter(pk=import_id).first()
    if job is None or job.is_finished:
        return job
    try:
        text = dnc_file_decode(data=bytes(job.data))
        total = _line_count(text)
        DncImport.objects.filter(pk=job.pk).update(status=DncImport.Status.PARSING, rows_total=total, rows_done=0)

        def checked(done: int, total: int) -> None:
            DncImport.objects.filter(pk=job.pk).update(rows_done=done)

        good, errors = dnc_rows_check(text=text, progress=checked)
        DncImport.objects.filter(pk=job.pk).update(status=DncImport.Status.WRITING, rows_done=total)
        with transaction.atomic():
            job = DncImport.objects.select_for_update().get(pk=job.pk)
            if job.is_finished:  # another delivery of this task finished it meanwhile
                return job
            now = timezone.now()
            added = dnc_rows_write(rows=good, added_by=job.added_by, at=now)
            job.status, job.added, job.already = DncImport.Status.DONE, added, len(good) - added
            job.errors, job.errors_count = [e.as_dict() for e in errors[:ERRORS_KEPT]], len(errors)
            job.data, job.finished = b"", now
            job.save()
        logger.info("DNC import %s (%s): %s added, %s already listed, %s lines refused", job.pk, job.filename,
                    job.added, job.already, job.errors_count)
        return job
    except ValidationError as exc:
        return _import_fail(job, " ".join(exc.messages))
    except Exception:
        logger.exception("DNC import %s failed", import_id)
        return _import_fail(job, "The import failed on our side and nothing was added; please try again.")


def _import_fail(job: DncImport, why: str) -> DncImport:
    DncImport.objects.filter(pk=job.pk).update(status=DncImport.Status.FAILED, failure=why, data=b"",
                                               finished=timezone.now())
    job.refresh_from_db()
    return job
