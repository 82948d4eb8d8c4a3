"""CSV imports into a campaign's contact list, modelled on the DNC list's import
(``compliance.services.dnc_import``): read any CSV a spreadsheet writes, refuse each bad
line by line, field and reason, and write the good rows in bulk, all or none.

- **Reading.** As the DNC import reads (``dnc_file_decode``): UTF-8 with or without a BOM,
  UTF-16 with a BOM, else Windows-1252 (Latin-1 as Windows writes it); any line ending. The
  delimiter is sniffed (comma, semicolon, tab or bar; Excel's ``sep=;`` first line is
  honoured). The first non-empty row is the header: the mapping names its columns.
- **Mapping** (``mapping_check``): CSV column → ``number`` (required), ``first_name``,
  ``last_name``, ``email``, ``state``, ``postal_code``, ``time_zone``, or ``field:<name>``
  (a custom field scripts merge in as ``{name}``); an empty target ignores the column.
  ``csv_columns`` and ``mapping_guess`` pre-fill the portal's mapping form.
- **Checking** (``contact_rows_check``): the number to E.164 (``compliance.location.normalize``,
  which agrees with ``tenants.phone.to_e164``; default region US); the state upper-cased and
  a US state code; the time zone an IANA zone, else derived from the number (and the state,
  when the number's prefix spans zones); email and lengths as the model holds them. A bad
  line is refused whole, with its first problem (the number's first). A number listed twice
  is merged into one contact: **later non-empty values win**, empty cells never blank an
  earlier value, custom fields merge key by key (counted in ``merged``).
- **Writing** (``contact_rows_write``): the good rows are copied into a temporary table and
  written with one ``INSERT … ON CONFLICT (campaign, number) DO UPDATE`` per batch. A number
  already in the campaign is updated (counted in ``updated``): the file's non-empty values
  replace the contact's, its custom fields are merged, and it moves to this list — but its
  dialing state (status, attempts, next attempt, outcome, disposition) is never touched, so a
  re-import never re-dials anyone: a done, exhausted, DNC or blocked contact stays so until
  ``contact_list_recycle`` puts it back. One transaction: every good row lands or, on a
  failure, none.
- **In the background** (``contact_import_start`` → ``campaigns.tasks.contact_import_run_task``
  → ``contact_import_run``): the job row records its progress for the portal's bar
  (``contact_import_progress``) and the command's, then its outcome with every refused line.
"""

from __future__ import annotations

import csv
import io
import json
import logging
import re
import zoneinfo
from collections.abc import Callable
from dataclasses import asdict, dataclass, field
from functools import lru_cache

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import connection, transaction
from django.db.models import F, Q
from django.utils import timezone

from campaigns.models import CallAttempt, Contact, ContactImport, ContactList
from compliance import location
from compliance.platform.models import UsState
from compliance.services.dnc_import import dnc_file_decode
from tenants.phone import to_e164

logger = logging.getLogger(__name__)

MAX_IMPORT_BYTES = 20 * 1024 * 1024  # the portal's limit (~200 000 rows); bigger: `manage.py contacts_import`
ERRORS_KEPT = 100_000  # refused lines listed one by one; beyond, only counted
BATCH = 10_000  # rows per INSERT … ON CONFLICT
PROGRESS_EVERY = 2_000  # rows checked between two progress reports
SNIFF_CHARS = 16_384
DELIMITERS = ",;\t|"
MAX_NUMBER_CHARS = 40
MAX_FIELD_CHARS = 1_000  # one custom field's value

FIELD_PREFIX = "field:"
TARGETS = {
    "number": "Phone number",
    "first_name": "First name",
    "last_name": "Last name",
    "email": "Email",
    "state": "State (2 letters)",
    "postal_code": "ZIP / postal code",
    "time_zone": "Time zone (e.g. America/Chicago)",
}
# Written into the contact's own columns, in this order (the number first: its error is reported first).
COLUMNS = tuple(TARGETS)
_FIELD_NAME = re.compile(r"[a-z][a-z0-9_]{0,39}")
_SEP_LINE = re.compile(r"sep=(.)\s*")

# Header words (lower-cased, punctuation as spaces) the guess maps to each target.
_GUESSES = {
    "number": {"number", "phone", "phone number", "phonenumber", "phone no", "telephone", "tel", "mobile",
               "mobile number", "mobile phone", "cell", "cell phone", "cellphone", "contact number", "msisdn",
               "primary phone", "phone 1", "phone1", "wireless", "e164"},
    "first_name": {"first name", "firstname", "first", "given name", "forename", "fname"},
    "last_name": {"last name", "lastname", "last", "surname", "family name", "lname"},
    "email": {"email", "e mail", "email address", "e mail address", "mail"},
    "state": {"state", "st", "state code", "province"},
    "postal_code": {"zip", "zip code", "zipcode", "postal code", "postcode", "postal", "zip postal code"},
    "time_zone": {"time zone", "timezone", "tz", "zone"},
}

Progress = Callable[[int, int], None]  # (lines done, lines in the file)


@dataclass(frozen=True)
class RowError:
    line: int  # in the file as a person counts, the header is line 1 (a quoted field over several lines: where it starts)
    field: str  # a target ("number", "email", "field:plan", …) or "row"
    reason: str

    def as_dict(self) -> dict:
        return asdict(self)


@dataclass
class GoodRow:
    line: int  # the first line of this number
    number: str  # E.164
    values: dict[str, str]  # target → non-empty value (time_zone filled in at the end)
    fields: dict[str, str]  # custom fields, non-empty values only


@dataclass
class CheckResult:
    rows: list[GoodRow] = field(default_factory=list)
    errors: list[RowError] = field(default_factory=list)
    merged: int = 0
    lines: int = 0


# --- Reading and mapping (selectors: they write nothing) ----------------------------------

def _dialect(text: str) -> tuple[str, int]:
    """The delimiter, and how many lines to skip before the header (Excel's ``sep=`` line)."""
    first = text.lstrip("\r\n").split("\n", 1)[0].strip("\r")
    hint = _SEP_LINE.fullmatch(first)
    if hint and hint.group(1) in DELIMITERS:
        return hint.group(1), 1
    sample = text[:SNIFF_CHARS]
    if len(text) > SNIFF_CHARS:
        sample = sample[:sample.rfind("\n") + 1] or sample
    try:
        return csv.Sniffer().sniff(sample, delimiters=DELIMITERS).delimiter, 0
    except csv.Error:
        # One column, or too few lines to judge: the delimiter the header line has most of.
        best = max(DELIMITERS, key=first.count)
        return (best if first.count(best) else ","), 0


def _reader(text: str):
    delimiter, skip = _dialect(text)
    # newline="": the csv module reads CR, LF and CRLF endings itself, and quoted newlines.
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter)
    for _ in range(skip):
        next(reader, None)
    return reader


def _header(reader) -> tuple[list[str], int]:
    """The header's cells (stripped) and its line; blank lines before it are skipped."""
    for row in reader:
        if any(cell.strip() for cell in row):
            return [cell.strip() for cell in row], reader.line_num
    raise ValidationError("The file has no header row: its first line should name the columns (e.g. Phone,First "
                          "Name).")


def csv_columns(data: bytes) -> list[str]:
    """The file's column names, from its header row, in order (for the mapping form).

    Raises ValidationError for a file that is no CSV (a workbook, a PDF, empty)."""
    return _columns(dnc_file_decode(data=data))


def _columns(text: str) -> list[str]:
    try:
        columns, _ = _header(_reader(text))
    except csv.Error as exc:
        raise ValidationError(f"The header row is not a CSV row ({exc}).") from exc
    return columns


def _words(header: str) -> str:
    return " ".join(re.sub(r"[^0-9a-z]+", " ", header.lower()).split())


def field_name(header: str) -> str:
    """A custom field's name from a column header: ``"Plan Type"`` → ``plan_type``."""
    name = _words(header).replace(" ", "_")
    if name and not name[0].isalpha():
        name = f"f_{name}"
    return name[:40]


def mapping_guess(columns: list[str]) -> dict[str, str]:
    """A mapping to pre-fill the form: known headers to their targets (the first column of each
    target wins), every other column to a custom field of its name, blank headers ignored."""
    guess: dict[str, str] = {}
    taken: set[str] = set()
    for column in columns:
        if not column or column in guess:
            continue
        words = _words(column)
        target = next((t for t, known in _GUESSES.items() if words in known and t not in taken), None)
        if target is None:
            name = field_name(column)
            target = f"{FIELD_PREFIX}{name}" if name else ""
        if target:
            taken.add(target)
        guess[column] = target
    return guess


def mapping_check(*, mapping: dict, columns: list[str]) -> dict[str, str]:
    """The mapping cleaned (ignored columns dropped), or a ValidationError listing every problem.

    ``mapping`` is CSV column → target; each column must be in the header exactly once."""
    problems: list[str] = []
    clean: dict[str, str] = {}
    seen: dict[str, str] = {}
    for column, target in (mapping or {}).items():
        target = (target or "").strip()
        if not target:
            continue  # ignored column
        if target.startswith(FIELD_PREFIX):
            name = target[len(FIELD_PREFIX):].strip()
            if not _FIELD_NAME.fullmatch(name):
                problems.append(f"“{name}” (column “{column}”) is not a usable custom field name: lower-case "
                                "letters, digits and _, starting with a letter, at most 40 characters.")
                continue
            target = f"{FIELD_PREFIX}{name}"
        elif target not in TARGETS:
            problems.append(f"Column “{column}”: “{target}” is not a contact field (use one of "
                            f"{', '.join(TARGETS)}, or field:<name>).")
            continue
        count = columns.count(column)
        if count == 0:
            problems.append(f"The file has no column “{column}” (its columns: "
                            f"{', '.join(f'“{c}”' for c in columns if c) or 'none'}).")
            continue
        if count > 1:
            problems.append(f"The header has {count} columns named “{column}”: rename them so each is "
                            "mapped once.")
            continue
        if target in seen:
            problems.append(f"Both “{seen[target]}” and “{column}” are mapped to {target}: map one column to each.")
            continue
        seen[target] = column
        clean[column] = target
    if "number" not in seen and not problems:
        problems.append("No column is mapped to the phone number: map the column that holds it (e.g. “Phone”) "
                        "to number.")
    elif "number" not in seen:
        problems.append("No column is mapped to the phone number.")
    if problems:
        raise ValidationError(problems)
    return clean


# --- Checking -----------------------------------------------------------------------------

def _max_length(name: str) -> int:
    return Contact._meta.get_field(name).max_length


_LIMITS: dict[str, int] = {}  # the model's max_length per column, looked up once


@lru_cache(maxsize=1)
def _zones() -> frozenset[str]:
    return frozenset(zoneinfo.available_timezones())


def _state_zones() -> dict[str, tuple[str, ...]]:
    return {code: tuple(zones) for code, zones in UsState.objects.values_list("code", "time_zones")}


def _zone_for(number: str, state: str, states: dict[str, tuple[str, ...]]) -> str:
    """The contact's zone from its number (and state, when the number's prefix spans zones or
    says nothing, as a toll-free one); empty when still ambiguous — the gate then judges every
    zone the number may ring in, and nobody guesses one for a callback."""
    zones = location.number_time_zones(number)
    by_state = states.get(state, ())
    if len(zones) == 1:
        return zones[0]
    candidates = [z for z in zones if z in by_state] if zones else list(by_state)
    return candidates[0] if len(candidates) == 1 else ""


_PUNCTUATION = str.maketrans("", "", " ()-./\u00a0")


def _nanp_candidate(raw: str) -> str | None:
    """``(212) 555-0142``, ``1-212-555-0142``, ``+1 212 555 0142`` … as ``+12125550142``, for
    ``location.normalize``'s fast path (libphonenumber's own patterns, compiled once), which
    is over ten times quicker than parsing (profiled: the numbers of a 100 000-row list took
    two thirds of the whole check before, a tenth after). Only a candidate: if the fast path refuses
    it, the full parse decides (and says why)."""
    text = raw.translate(_PUNCTUATION)
    if text.startswith("+"):
        text = text[1:]
        return f"+{text}" if len(text) == 11 and text[0] == "1" and text.isdigit() else None
    if text.isdigit():
        if len(text) == 10:
            return f"+1{text}"
        if len(text) == 11 and text[0] == "1":
            return f"+{text}"
    return None


def _number(raw: str) -> tuple[str | None, str]:
    if "\x00" in raw:
        return None, "contains a NUL byte, which is never part of a phone number (was the file saved as CSV?)."
    if len(raw) > MAX_NUMBER_CHARS:
        return None, f"{len(raw)} characters is too long for a phone number."
    candidate = _nanp_candidate(raw)
    e164 = location.normalize(candidate) if candidate else None
    if e164 is not None:
        return e164, ""
    try:  # every other format, and a refused candidate: libphonenumber decides, and says why
        return to_e164(raw), ""
    except ValidationError as exc:
        return None, exc.messages[0]


def _value_problem(target: str, value: str, states: dict) -> tuple[str, str]:
    """(the value as stored, "") or ("", why it is refused)."""
    if "\x00" in value:
        return "", "contains a NUL byte, which text cannot hold (was the file saved as CSV?)."
    if target.startswith(FIELD_PREFIX):
        if len(value) > MAX_FIELD_CHARS:
            return "", f"{len(value):,} characters; a custom field holds at most {MAX_FIELD_CHARS:,}."
        return value, ""
    if target == "state":
        value = value.upper()
        if value not in states:
            return "", f"“{value}” is not a US state code (two letters, e.g. NY)."
        return value, ""
    if target == "time_zone":
        if value not in _zones():
            return "", f"“{value}” is not a time zone (use an IANA name, e.g. America/New_York)."
        return value, ""
    if target == "email":
        try:
            validate_email(value)
        except ValidationError:
            return "", f"“{value}” is not an email address."
    limit = _LIMITS.get(target)
    if limit is None:
        limit = _LIMITS[target] = _max_length(target)
    if len(value) > limit:
        return "", f"{len(value)} characters; at most {limit}."
    return value, ""


def contact_rows_check(*, text: str, mapping: dict[str, str], progress: Progress | None = None) -> CheckResult:
    """The good rows (duplicates merged) and every refused line, in file order (a selector).

    ``mapping`` must have passed ``mapping_check`` against this file's header."""
    total = _line_count(text)
    reader = _reader(text)
    columns, _ = _header(reader)
    plan = [(columns.index(column), target) for column, target in mapping.items()]
    plan.sort(key=lambda p: (p[1] != "number", p[0]))  # the number first: its problem is the one reported
    states = _state_zones()
    result = CheckResult(lines=total)
    by_number: dict[str, GoodRow] = {}
    checked = 0
    while True:
        start = reader.line_num + 1
        try:
            row = next(reader)
        except StopIteration:
            break
        except csv.Error as exc:
            result.errors.append(RowError(start, "row", f"not a CSV row ({exc})."))
            continue
        finally:
            checked += 1
            if progress and checked % PROGRESS_EVERY == 0:
                progress(min(reader.line_num, total), total)
        if not any(cell.strip() for cell in row):
            continue
        spans = f" (a quote opened on line {start} is closed only on line {reader.line_num})" \
            if reader.line_num > start else ""
        number, values, fields, error = None, {}, {}, None
        for index, target in plan:
            raw = row[index].strip() if index < len(row) else ""
            if target == "number":
                number, why = _number(raw)
                if number is None:
                    error = RowError(start, "number", (why if raw else "A phone number is required.") + spans)
                    break
                continue
            if not raw:
                continue
            value, why = _value_problem(target, raw, states)
            if why:
                error = RowError(start, target, why + spans)
                break
            if target.startswith(FIELD_PREFIX):
                fields[target[len(FIELD_PREFIX):]] = value
            else:
                values[target] = value
        if error:
            result.errors.append(error)
            continue
        earlier = by_number.get(number)
        if earlier is None:
            by_number[number] = good = GoodRow(start, number, values, fields)
            result.rows.append(good)
        else:  # the same number again: one contact, the later non-empty values win
            earlier.values.update(values)
            earlier.fields.update(fields)
            result.merged += 1
    for good in result.rows:
        if "time_zone" not in good.values:
            zone = _zone_for(good.number, good.values.get("state", ""), states)
            if zone:
                good.values["time_zone"] = zone
    if progress:
        progress(total, total)
    return result


_LINE_END = re.compile(r"\r\n|\r|\n")


def _line_count(text: str) -> int:
    ends = len(_LINE_END.findall(text))
    return ends + (0 if _LINE_END.search(text[-2:]) else 1)


# --- Writing ------------------------------------------------------------------------------

def _write_sql(defaults: list[str]) -> str:
    table = Contact._meta.db_table
    # Other NOT NULL columns (status "new", attempts 0, …) get their model defaults, as a save would.
    extra_cols = "".join(f", {c}" for c in defaults)
    extra_vals = "".join(f", %(default_{c})s" for c in defaults)
    return f"""
        INSERT INTO {table} AS c (campaign_id, list_id, number, first_name, last_name, email, state, postal_code,
                                  time_zone, fields, created, updated{extra_cols})
        SELECT %(campaign)s, %(list)s, r.number, r.first_name, r.last_name, r.email, r.state, r.postal_code,
               r.time_zone, r.fields, %(at)s, %(at)s{extra_vals}
          FROM contact_import_rows r
         WHERE r.ord >= %(low)s AND r.ord < %(high)s
         ORDER BY r.ord
        ON CONFLICT (campaign_id, number) DO UPDATE SET
            -- non-empty values from the file replace, empty cells keep, the dialing state is never touched
            list_id = EXCLUDED.list_id,
            first_name = COALESCE(NULLIF(EXCLUDED.first_name, ''), c.first_name),
            last_name = COALESCE(NULLIF(EXCLUDED.last_name, ''), c.last_name),
            email = COALESCE(NULLIF(EXCLUDED.email, ''), c.email),
            state = COALESCE(NULLIF(EXCLUDED.state, ''), c.state),
            postal_code = COALESCE(NULLIF(EXCLUDED.postal_code, ''), c.postal_code),
            time_zone = COALESCE(NULLIF(EXCLUDED.time_zone, ''), c.time_zone),
            fields = c.fields || EXCLUDED.fields,
            updated = EXCLUDED.updated
        RETURNING (xmax = 0)
    """


_WRITTEN = {"id", "campaign", "list", "number", "first_name", "last_name", "email", "state", "postal_code",
            "time_zone", "fields", "created", "updated"}


def _defaults() -> dict[str, object]:
    values = {}
    for f in Contact._meta.concrete_fields:
        if f.name in _WRITTEN or f.null:
            continue
        values[f.column] = f.get_default()
    return values


def contact_rows_write(*, contact_list: ContactList, rows: list[GoodRow], progress: Progress | None = None,
                       ) -> tuple[int, int]:
    """Add or update the contacts of ``rows`` in the list's campaign: (added, updated).

    Run inside the caller's transaction (the temporary table lives until its commit)."""
    if not connection.in_atomic_block:
        raise RuntimeError("contact_rows_write runs inside a transaction")
    defaults = _defaults()
    params = {"campaign": contact_list.campaign_id, "list": contact_list.pk, "at": timezone.now(),
              **{f"default_{c}": v for c, v in defaults.items()}}
    sql = _write_sql(list(defaults))
    added = updated = 0
    width = {name: _max_length(name) for name in COLUMNS if name != "number"}
    with connection.cursor() as cursor:
        cursor.execute("DROP TABLE IF EXISTS pg_temp.contact_import_rows")
        cursor.execute("CREATE TEMP TABLE contact_import_rows (ord integer PRIMARY KEY, number varchar(16), "
                       + ", ".join(f"{name} varchar({n})" for name, n in width.items())
                       + ", fields jsonb) ON COMMIT DROP")
        names = ", ".join(width)
        with cursor.cursor.copy(f"COPY contact_import_rows (ord, number, {names}, fields) FROM STDIN") as copy:
            for ord_, row in enumerate(rows):
                copy.write_row((ord_, row.number, *(row.values.get(name, "") for name in width),
                                json.dumps(row.fields, ensure_ascii=False)))
        for low in range(0, len(rows), BATCH):
            cursor.execute(sql, {**params, "low": low, "high": low + BATCH})
            for (inserted,) in cursor.fetchall():
                if inserted:
                    added += 1
                else:
                    updated += 1
            if progress:
                progress(min(low + BATCH, len(rows)), len(rows))
    return added, updated


# --- In the background --------------------------------------------------------------------

def _size_check(data: bytes) -> None:
    if len(data) > MAX_IMPORT_BYTES:
        raise ValidationError(f"That file is over {MAX_IMPORT_BYTES // (1024 * 1024)} MB; split it, or ask us to "
                              "load it (`manage.py contacts_import` has no limit).")


def contact_import_prepare(*, contact_list: ContactList, filename: str, data: bytes, added_by: str) -> ContactImport:
    """Store an uploaded CSV for its mapping form (nothing is queued: ``contact_import_confirm``
    does that). A prepared job is QUEUED with an empty mapping; a confirmed one always maps the
    number. Refuses now a file that is no CSV or has no header."""
    _size_check(data)
    csv_columns(data)
    return ContactImport.objects.create(list=contact_list, filename=filename[:255], data=data, mapping={},
                                        added_by=added_by[:200])


def contact_import_confirm(*, job: ContactImport, mapping: dict) -> ContactImport:
    """Set a prepared import's mapping and queue it (after the commit). Refused with a
    ValidationError listing every problem of the mapping; a job already confirmed is left alone."""
    with transaction.atomic():
        job = ContactImport.objects.select_for_update().get(pk=job.pk)
        if job.mapping or job.status != ContactImport.Status.QUEUED:
            return job  # a second submit of the form
        job.mapping = mapping_check(mapping=mapping, columns=csv_columns(bytes(job.data)))
        job.save(update_fields=["mapping"])
        from campaigns.tasks import contact_import_run_task  # the task calls this module's services

        pk = job.pk
        # Sent inside the client's schema: tenant-schemas-celery runs the task there.
        transaction.on_commit(lambda: contact_import_run_task.delay(pk))
    return job


def contact_import_start(*, contact_list: ContactList, filename: str, data: bytes, mapping: dict,
                         added_by: str) -> ContactImport:
    """Store a CSV with its mapping and queue its import (after the commit), as
    ``dnc_import_start`` does. Refuses now, with a ValidationError saying why, a file that is no
    CSV and a mapping that does not fit the file (e.g. no column mapped to the number)."""
    _size_check(data)
    clean = mapping_check(mapping=mapping, columns=csv_columns(data))
    job = ContactImport.objects.create(list=contact_list, filename=filename[:255], data=data, mapping=clean,
                                       added_by=added_by[:200])
    from campaigns.tasks import contact_import_run_task

    transaction.on_commit(lambda: contact_import_run_task.delay(job.pk))
    return job


def contact_import_run(*, import_id: int, progress: Progress | None = None) -> ContactImport | None:
    """Run an import (the task's body; the command calls it in the foreground with ``progress``).

    Idempotent: a finished job is left alone, so a redelivered task changes nothing. The
    contacts and the job's outcome are written in one transaction: all the good rows or,
    on a failure, none (the job then says FAILED and why)."""
    job = ContactImport.objects.filter(pk=import_id).select_related("list").first()
    if job is None or job.is_finished:
        return job
    try:
        text = dnc_file_decode(data=bytes(job.data))
        total = _line_count(text)
        mapping = mapping_check(mapping=job.mapping, columns=_columns(text))
        ContactImport.objects.filter(pk=job.pk).update(status=ContactImport.Status.PARSING, rows_total=total,
                                                       rows_done=0)

        def checked(done: int, total: int) -> None:
            # Committed as it goes (outside the write's transaction), so the bar moves.
            ContactImport.objects.filter(pk=job.pk).update(rows_done=done)
            if progress:
                progress(done, total)

        result = contact_rows_check(text=text, mapping=mapping, progress=checked)
        ContactImport.objects.filter(pk=job.pk).update(status=ContactImport.Status.WRITING, rows_done=total)
        with transaction.atomic():
            job = ContactImport.objects.select_for_update().select_related("list").get(pk=job.pk)
            if job.is_finished:  # another delivery of this task finished it meanwhile
                return job
            added, updated = contact_rows_write(contact_list=job.list, rows=result.rows)
            job.status, job.added, job.updated, job.merged = ContactImport.Status.DONE, added, updated, result.merged
            job.errors, job.errors_count = [e.as_dict() for e in result.errors[:ERRORS_KEPT]], len(result.errors)
            job.rows_total = job.rows_done = total
            job.data, job.finished = b"", timezone.now()
            job.save()
        logger.info("Contact import %s (%s) into list %s: %s added, %s updated, %s merged, %s lines refused",
                    job.pk, job.filename, job.list_id, added, updated, result.merged, job.errors_count)
        return job
    except ValidationError as exc:
        return _import_fail(job, " ".join(exc.messages))
    except Exception:
        logger.exception("Contact import %s failed", import_id)
        return _import_fail(job, "The import failed on our side and no contact was added or changed; please try "
                                 "again.")


def _import_fail(job: ContactImport, why: str) -> ContactImport:
    ContactImport.objects.filter(pk=job.pk).update(status=ContactImport.Status.FAILED, failure=why, data=b"",
                                                   finished=timezone.now())
    job.refresh_from_db()
    return job


def contact_import_progress(*, job: ContactImport) -> dict:
    """An import's state as the page's progress bar reads it (JSON; a selector)."""
    total = job.rows_total
    done = total if job.is_finished else min(job.rows_done, total)
    status = job.status
    if status == ContactImport.Status.QUEUED and not job.mapping:
        text = "Waiting for the column mapping."
    elif status == ContactImport.Status.QUEUED:
        text = "Waiting for a worker to start…"
    elif status == ContactImport.Status.PARSING:
        text = f"Checking line {done:,} of {total:,}…"
    elif status == ContactImport.Status.WRITING:
        text = f"Checked {total:,} lines; adding the contacts to the list…"
    elif status == ContactImport.Status.DONE:
        text = (f"Done: {job.added:,} added, {job.updated:,} updated, {job.merged:,} duplicate"
                f"{'s' if job.merged != 1 else ''} merged, {job.errors_count:,} line"
                f"{'s' if job.errors_count != 1 else ''} not imported.")
    else:
        text = f"Not imported: {job.failure}"
    return {"id": job.pk, "status": status, "finished": job.is_finished, "lines_total": total, "lines_done": done,
            "percent": 100 if job.is_finished else (int(done * 100 / total) if total else 0), "text": text,
            "added": job.added, "updated": job.updated, "merged": job.merged, "errors": job.errors_count}


# --- Lists --------------------------------------------------------------------------------

def contact_list_get_or_create(*, campaign, name: str) -> tuple[ContactList, bool]:
    name = (name or "").strip()
    if not name:
        raise ValidationError("A list needs a name.")
    return ContactList.objects.get_or_create(campaign=campaign, name=name[:200])


def contact_list_priority_set(*, contact_list: ContactList, priority: int) -> ContactList:
    """Set a list's priority (higher is dialed first; the dialer reads it on its next pick)."""
    if not -1000 <= int(priority) <= 1000:
        raise ValidationError("A priority is a whole number from -1000 to 1000.")
    ContactList.objects.filter(pk=contact_list.pk).update(priority=int(priority))
    contact_list.priority = int(priority)
    return contact_list


RECYCLABLE = (Contact.Status.EXHAUSTED, Contact.Status.DONE, Contact.Status.RETRY)


def contact_list_recycle(*, contact_list: ContactList, outcomes: list[str] | None = None, by: str) -> int:
    """Put a list's contacts back to be dialed afresh (status new, attempts 0); the count.

    Without ``outcomes``: every exhausted contact (out of attempts). With ``outcomes`` (call
    outcomes such as ``no_answer``, ``busy``, ``machine``, or disposition codes such as
    ``not_interested``): the exhausted, done or waiting-to-retry contacts whose last outcome or
    disposition is one of them. Never a DNC or blocked contact, one being called or holding a
    booked callback, nor one whose disposition is final and a success (a sale stays a sale).
    History (last outcome, disposition, attempts on record) is kept. Re-importing a number
    never does this; recycling is the one way back."""
    campaign = contact_list.campaign
    if outcomes is not None:  # checked, so a typo is an answer rather than "0 recycled"
        outcomes = [o.strip() for o in outcomes if o and o.strip()]
        known = set(CallAttempt.Outcome.values) | set(campaign.dispositions.values_list("code", flat=True))
        unknown = [o for o in outcomes if o not in known]
        if unknown:
            raise ValidationError(f"Not an outcome or a disposition of “{campaign.name}”: {', '.join(unknown)}.")
        if not outcomes:
            raise ValidationError("Choose at least one outcome to recycle.")
    with transaction.atomic():
        picked = Contact.objects.filter(list=contact_list)
        if outcomes is None:
            picked = picked.filter(status=Contact.Status.EXHAUSTED)
        else:
            picked = picked.filter(Q(last_outcome__in=outcomes) | Q(disposition__code__in=outcomes),
                                   status__in=RECYCLABLE)
        picked = picked.exclude(disposition__final=True, disposition__success=True)
        # The status is checked again by the UPDATE itself, so a contact the dialer picks meanwhile is skipped.
        count = Contact.objects.filter(pk__in=picked.values("pk"), status__in=RECYCLABLE).update(
            status=Contact.Status.NEW, attempts=0, next_attempt_at=None, reserved_by=None, reserved_until=None,
            updated=timezone.now())
        if count:  # "how many times its contacts were put back": a recycle that found nobody is not one
            ContactList.objects.filter(pk=contact_list.pk).update(recycled=F("recycled") + 1)
    contact_list.refresh_from_db(fields=["recycled"])
    logger.info("List %s (%s) recycled by %s: %s contacts back to new (outcomes: %s)", contact_list.pk,
                contact_list.name, by, count, outcomes or "exhausted")
    return count
