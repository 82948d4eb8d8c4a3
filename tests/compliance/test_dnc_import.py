"""The DNC list's CSV import: every file a spreadsheet writes is read (CR, LF or CRLF endings,
UTF-8, UTF-16, Windows-1252), a NUL refuses its line and a binary file the whole, every refused
line is listed with its field and why, and the good rows are written in bulk with the same
entries, consents and ledger rows one opt-out at a time writes — in a background job whose
progress the portal shows."""

from __future__ import annotations

import json
from http import HTTPStatus

import pytest
from django.core.exceptions import ValidationError
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import transaction
from django.utils import timezone
from django_tenants.utils import tenant_context

from compliance.models import Consent, DncEntry, DncImport, LedgerEntry
from compliance.rules import OptOutSource
from compliance.services import dnc_csv_import, dnc_entry_remove, dnc_import, dnc_import_run, opt_out_record
from compliance.services.dnc_import import GoodRow, dnc_rows_write
from tests.conftest import BOB_HOST, CHARLIE_HOST

from .conftest import MIAMI, NY, TULSA

pytestmark = pytest.mark.django_db


def _errors(result) -> list[tuple[int, str]]:
    return [(e.line, e.field) for e in result.errors]


def test_cr_only_line_endings_are_read_as_lines(world):
    with tenant_context(world.bobs):
        result = dnc_csv_import(client=world.bobs, data=b"number,reason\r212-555-0142,one\r(305) 555-0142,two\r",
                                added_by="bob")
        assert (result.added, result.already, result.errors) == (2, 0, [])
        assert dict(DncEntry.objects.values_list("number", "reason")) == {NY: "one", MIAMI: "two"}


def test_mixed_line_endings_and_a_quoted_newline_keep_their_line_numbers(world):
    data = b'2125550142,"two\nlines"\r\n3055550142\rbanana\n9185550142\n'
    with tenant_context(world.bobs):
        result = dnc_csv_import(client=world.bobs, data=data, added_by="bob")
        assert result.added == 3 and _errors(result) == [(4, "number")]
        assert DncEntry.objects.get(number=NY).reason == "two\nlines"


def test_a_nul_byte_refuses_its_line_naming_the_field(world):
    data = b"2125550142,fine\n3055550142,bad\x00reason\n918555\x000142\n"
    with tenant_context(world.bobs):
        result = dnc_csv_import(client=world.bobs, data=data, added_by="bob")
        assert result.added == 1 and _errors(result) == [(2, "reason"), (3, "number")]
        assert "NUL" in result.errors[0].reason and "NUL" in result.errors[1].reason
        assert list(DncEntry.objects.values_list("number", flat=True)) == [NY]


@pytest.mark.parametrize(("data", "words"), [
    (b"PK\x03\x04\x14\x00\x06\x00rest of a workbook", "spreadsheet workbook"),
    ("2125550142\n3055550142\n".encode("utf-16-le"), "full of NUL bytes"),
    (b"%PDF-1.7 ...", "PDF"),
    (b"\n\r\n  \n", "empty"),
])
def test_a_file_that_is_no_csv_is_refused_as_a_whole(world, data, words):
    with tenant_context(world.bobs):
        with pytest.raises(ValidationError) as refused:
            dnc_csv_import(client=world.bobs, data=data, added_by="bob")
        assert words in refused.value.messages[0]
        assert not DncEntry.objects.exists()


def test_utf16_with_its_bom_and_windows_1252_are_read(world):
    with tenant_context(world.bobs):
        utf16 = dnc_csv_import(client=world.bobs, data="number,reason\r\n2125550142,señal\r\n".encode("utf-16"),
                               added_by="bob")
        cp1252 = dnc_csv_import(client=world.bobs, data="3055550142,caf\u00e9 \u2013 stop\n".encode("cp1252"),
                                added_by="bob")
        assert (utf16.added, cp1252.added) == (1, 1)
        assert dict(DncEntry.objects.values_list("number", "reason")) == {NY: "señal", MIAMI: "café – stop"}


def test_every_refused_line_says_its_line_field_and_why(world):
    data = ("number,reason\n"
            "212-555-0142,asked twice\n"
            "not a number\n"
            f"{'9' * 200},long\n"
            '"3055550142\n'  # a quote never closed: the rest of the file is one field
            "9185550142\n")
    with tenant_context(world.bobs):
        result = dnc_csv_import(client=world.bobs, data=data, added_by="bob")
    assert [(e.line, e.field) for e in result.errors] == [(3, "number"), (4, "number"), (5, "number")]
    assert "not a phone number" in result.errors[0].reason
    assert "200 characters is too long" in result.errors[1].reason
    assert "quote opened on line 5 is closed only on line 6" in result.errors[2].reason


def test_the_bulk_write_does_what_one_opt_out_at_a_time_does(world):
    now = timezone.now()
    with tenant_context(world.bobs):
        opt_out_record(client=world.bobs, number=NY, source=OptOutSource.PORTAL, added_by="bea")  # already active
        opt_out_record(client=world.bobs, number=MIAMI, source=OptOutSource.PORTAL, added_by="bea")
        dnc_entry_remove(client=world.bobs, number=MIAMI, removed_by="bea")  # removed: kept, and listed again
        for number in (MIAMI, TULSA):
            Consent.objects.create(number=number, kind=Consent.Kind.EXPRESS, source=Consent.Source.WEB_FORM,
                                   obtained_at=now, recorded_by="tests")
        reference, _ = opt_out_record(client=world.bobs, number="+12125550177", source=OptOutSource.CSV_IMPORT,
                                      added_by="bob", reason="the old way")
        result = dnc_csv_import(client=world.bobs, data=f"{NY},x\n{MIAMI},moved\n{TULSA},\n", added_by="bob")

        assert (result.added, result.already) == (2, 1)
        assert DncEntry.objects.filter(number=NY).count() == 1  # untouched
        miami = list(DncEntry.objects.filter(number=MIAMI).order_by("pk").values_list("removed_at", "source", "reason"))
        assert miami[0][0] is not None and miami[1] == (None, OptOutSource.CSV_IMPORT, "moved")
        assert not Consent.objects.filter(number__in=[MIAMI, TULSA], revoked_at__isnull=True).exists()
        assert set(Consent.objects.values_list("revoked_reason", flat=True)) == {"Opt-out (CSV import)"}

        def shape(entry: LedgerEntry) -> tuple:
            return (entry.event, entry.asked_by, json.dumps(entry.reasons), entry.purpose, entry.channel,
                    entry.outcome, json.dumps(entry.rule_versions), entry.campaign_id)

        old_way = LedgerEntry.objects.get(number=reference.number)
        written = {e.number: e for e in LedgerEntry.objects.filter(number__in=[MIAMI, TULSA], event="opt_out",
                                                                   asked_by="bob")}
        assert set(written) == {MIAMI, TULSA}
        assert {shape(e) for e in written.values()} == {shape(old_way)}
        assert (written[MIAMI].detail, written[TULSA].detail) == ("moved", "")
        assert not LedgerEntry.objects.filter(number=NY, asked_by="bob").exists()  # nothing new to record


def test_a_failure_in_a_later_batch_leaves_nothing_written(world, monkeypatch):
    monkeypatch.setattr(dnc_import, "BATCH", 1)

    def fail_after_the_first_batch(done: int, total: int) -> None:
        raise RuntimeError("disk full")

    rows = [GoodRow(1, NY, ""), GoodRow(2, MIAMI, "")]
    with tenant_context(world.bobs):
        with pytest.raises(RuntimeError), transaction.atomic():
            dnc_rows_write(rows=rows, added_by="bob", progress=fail_after_the_first_batch)
        assert not DncEntry.objects.exists()
        assert not LedgerEntry.objects.filter(number__in=[NY, MIAMI]).exists()


def test_a_large_file_is_written_in_batches(world, monkeypatch):
    monkeypatch.setattr(dnc_import, "BATCH", 7)
    numbers = [f"+1212555{n:04d}" for n in range(100, 150)]  # 212-555-01xx: fictional, accepted
    with tenant_context(world.bobs):
        result = dnc_csv_import(client=world.bobs, data="\n".join(numbers), added_by="bob")
        assert (result.added, result.already, result.errors) == (50, 0, [])
        assert DncEntry.objects.count() == 50
        assert LedgerEntry.objects.filter(event="opt_out", number__in=numbers).count() == 50


# --- The background job and its page ------------------------------------------------------

def test_a_job_records_its_outcome_once_and_drops_the_file(world):
    with tenant_context(world.bobs):
        job = DncImport.objects.create(filename="x.csv", data=b"2125550142\nbanana\n", added_by="bob")
        done = dnc_import_run(import_id=job.pk)
        assert (done.status, done.added, done.already, done.errors_count, bytes(done.data)) == ("done", 1, 0, 1, b"")
        assert done.errors == [{"line": 2, "field": "number",
                                "reason": "“banana” is not a phone number (The string supplied did not seem to be "
                                          "a phone number.)."}]
        again = dnc_import_run(import_id=job.pk)  # a redelivered task
        assert again.added == 1 and LedgerEntry.objects.filter(number=NY, event="opt_out").count() == 1


def test_a_job_that_fails_says_so_and_writes_nothing(world, monkeypatch):
    def broken(**kwargs):
        raise RuntimeError("connection lost")

    monkeypatch.setattr(dnc_import, "dnc_rows_write", broken)
    with tenant_context(world.bobs):
        job = DncImport.objects.create(filename="x.csv", data=b"2125550142\n", added_by="bob")
        failed = dnc_import_run(import_id=job.pk)
        assert failed.status == "failed" and "nothing was added" in failed.failure
        assert not DncEntry.objects.exists()


@pytest.fixture
def eager(django_capture_on_commit_callbacks):
    """The import's task runs inline once the upload's transaction commits."""
    from switchboard.celery import app

    app.conf.task_always_eager = True
    try:
        yield lambda: django_capture_on_commit_callbacks(execute=True)
    finally:
        app.conf.task_always_eager = False


def test_the_portal_shows_the_progress_then_every_refused_line(world, logged_in, eager):
    bea = logged_in(world.bea, BOB_HOST)
    rows = "number,reason\r" + "".join(f"212555{n:04d},r\r" for n in range(100, 400)) + "banana\r3055550142,a\x00b\r"
    with eager():
        response = bea.post("/compliance/dnc/import/", {"file": SimpleUploadedFile("list.csv", rows.encode())})
    assert response.status_code == HTTPStatus.FOUND
    with tenant_context(world.bobs):
        job = DncImport.objects.get()
    assert response["Location"] == f"/compliance/dnc/imports/{job.pk}/"
    progress = bea.get(f"/compliance/dnc/imports/{job.pk}/progress")
    assert progress["Cache-Control"] == "no-store"
    assert json.loads(progress.content) == {
        "id": job.pk, "status": "done", "finished": True, "lines_total": 303, "lines_done": 303, "percent": 100,
        "text": "Done: 300 added, 0 already on the list, 2 lines not imported.", "added": 300, "already": 0,
        "errors": 2}
    page = bea.get(response["Location"]).content.decode()
    assert "Done: 300 added" in page
    assert "<td>302</td><td>number</td><td>“banana” is not a phone number" in page
    assert "<td>303</td><td>reason</td><td>contains a NUL byte" in page
    assert "<script>" not in page and "import_progress.js" not in page  # over: nothing left to poll
    assert "list.csv" in bea.get("/compliance/dnc/").content.decode()  # among the recent imports


def test_a_running_import_shows_a_bar_its_script_updates(world, logged_in):
    with tenant_context(world.bobs):
        job = DncImport.objects.create(filename="big.csv", data=b"2125550142\n", added_by="bob",
                                       status=DncImport.Status.PARSING, rows_total=50_000, rows_done=12_500)
    page = logged_in(world.bea, BOB_HOST).get(f"/compliance/dnc/imports/{job.pk}/").content.decode()
    assert f'data-progress-url="/compliance/dnc/imports/{job.pk}/progress"' in page
    assert '<progress data-progress-bar max="100" value="25">' in page
    assert "Checking line 12,500 of 50,000…" in page
    assert 'src="/static/import_progress.js"' in page
    assert "<script>" not in page  # no inline script: the pages run under a strict CSP


def test_a_file_that_is_no_csv_is_refused_at_upload_with_a_message(world, logged_in, eager):
    bea = logged_in(world.bea, BOB_HOST)
    with eager():
        response = bea.post("/compliance/dnc/import/", {
            "file": SimpleUploadedFile("list.xlsx", b"PK\x03\x04 a workbook")}, follow=True)
    assert response.status_code == HTTPStatus.OK
    assert "spreadsheet workbook" in response.content.decode()
    with tenant_context(world.bobs):
        assert not DncImport.objects.exists()


def test_another_clients_host_cannot_see_an_import(world, logged_in):
    with tenant_context(world.bobs):
        job = DncImport.objects.create(filename="x.csv", data=b"", added_by="bob")
    charlie = logged_in(world.charlie, CHARLIE_HOST)
    assert charlie.get(f"/compliance/dnc/imports/{job.pk}/progress").status_code == HTTPStatus.NOT_FOUND
    assert charlie.get(f"/compliance/dnc/imports/{job.pk}/").status_code == HTTPStatus.NOT_FOUND


def test_the_command_imports_a_file_with_a_progress_bar(world, tmp_path, capsys, monkeypatch):
    from django.core.management import CommandError, call_command

    monkeypatch.setattr(dnc_import, "PROGRESS_EVERY", 2)
    path = tmp_path / "list.csv"
    path.write_bytes(b"number\r2125550142\r3055550142\rbanana\r")
    call_command("dnc_import", "bobsplumbing", str(path), "--added-by", "ops")
    out, err = capsys.readouterr()
    assert "Bob's Plumbing: 4 lines, 2 added, 0 already on the list, 1 not imported" in out
    assert "checking [" in err and "line 4, number: “banana” is not a phone number" in err
    with tenant_context(world.bobs):
        assert set(DncEntry.objects.values_list("number", "added_by")) == {(NY, "ops"), (MIAMI, "ops")}
    path.write_bytes(b"PK\x03\x04")
    with pytest.raises(CommandError, match="spreadsheet workbook"):
        call_command("dnc_import", "bobsplumbing", str(path))
