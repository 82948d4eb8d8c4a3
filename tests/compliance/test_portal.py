"""The portal's compliance pages and the client-data admin: DNC list, CSV import, ledger, export."""

from __future__ import annotations

from http import HTTPStatus

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django_tenants.utils import tenant_context

from compliance.models import DncEntry, LedgerEntry
from compliance.platform.models import PlatformDncEntry
from compliance.rules import OptOutSource
from compliance.services import opt_out_record
from tests.conftest import BOB_HOST, CHARLIE_HOST, PLATFORM_HOST, http

from .conftest import NY

pytestmark = pytest.mark.django_db


def test_a_client_user_adds_and_removes_a_number(world, logged_in):
    bea = logged_in(world.bea, BOB_HOST)
    response = bea.post("/compliance/dnc/", {"number": "(212) 555-0142", "reason": "called to complain"})
    assert response.status_code == HTTPStatus.FOUND
    with tenant_context(world.bobs):
        entry = DncEntry.objects.get(number=NY)
    assert (entry.source, entry.added_by, entry.reason) == (OptOutSource.PORTAL, "bea@bobs.test", "called to complain")
    page = bea.get("/compliance/dnc/").content.decode()
    assert "+12125550142" in page and "called to complain" in page
    bea.post("/compliance/dnc/remove/", {"number": NY})
    with tenant_context(world.bobs):
        assert DncEntry.objects.get(number=NY).removed_by == "bea@bobs.test"
    assert "<td>+12125550142</td>" not in bea.get("/compliance/dnc/").content.decode()


def test_a_bad_number_is_refused_with_a_reason(world, logged_in):
    page = logged_in(world.bea, BOB_HOST).post("/compliance/dnc/", {"number": "12"}).content.decode()
    assert "not a valid phone number" in page or "is not a phone number" in page


def test_csv_import_shows_the_rows_with_errors(world, logged_in, django_capture_on_commit_callbacks):
    from switchboard.celery import app

    bob = logged_in(world.bob, BOB_HOST)
    upload = SimpleUploadedFile("dnc.csv", b"number,reason\n2125550142,x\nbanana\n3055550142\n", content_type="text/csv")
    app.conf.task_always_eager = True  # the import's background job, inline
    try:
        with django_capture_on_commit_callbacks(execute=True):
            job_page = bob.post("/compliance/dnc/import/", {"file": upload})["Location"]
    finally:
        app.conf.task_always_eager = False
    page = bob.get(job_page).content.decode()
    assert "2 added" in page and "<td>3</td><td>number</td>" in page
    with tenant_context(world.bobs):
        assert DncEntry.objects.count() == 2


def test_the_ledger_is_searchable_and_exports_csv(world, logged_in, registry, decide):
    decide(world.bobs, NY, asked_by="dialer")
    decide(world.bobs, "+13055550142", asked_by="dialer")
    bea = logged_in(world.bea, BOB_HOST)
    page = bea.get("/compliance/ledger/", {"q": "2125550142"}).content.decode()
    assert "+12125550142" in page and "+13055550142" not in page
    export = bea.get("/compliance/ledger/export.csv", {"q": "dialer"})
    assert export["Content-Type"].startswith("text/csv")
    body = b"".join(export.streaming_content).decode()
    assert body.splitlines()[0].startswith('"id","created","at","event","number"')  # every cell quoted
    assert "+12125550142" in body and "+13055550142" in body and "ok clear" in body


def test_the_export_stays_in_its_clients_schema_while_the_connection_serves_another_host(
        world, logged_in, registry, decide):
    """Under ASGI the streamed rows are read after the view returned, on a connection another
    request may have switched to its own client's schema in between."""
    decide(world.bobs, NY, asked_by="dialer")
    decide(world.charlies, "+13125550177", asked_by="dialer")
    export = logged_in(world.bea, BOB_HOST).get("/compliance/ledger/export.csv")
    chunks = iter(export.streaming_content)
    header = next(chunks)
    connection.set_schema("charlieclinic")  # another host's request, between two chunks
    body = (header + b"".join(chunks)).decode()
    assert "+12125550142" in body and "+13125550177" not in body


def test_one_clients_pages_never_show_anothers_data(world, logged_in):
    with tenant_context(world.bobs):
        opt_out_record(client=world.bobs, number=NY, source=OptOutSource.PORTAL, added_by="bob")
    charlie = logged_in(world.charlie, CHARLIE_HOST)
    assert "+12125550142" not in charlie.get("/compliance/dnc/").content.decode()
    assert "+12125550142" not in charlie.get("/compliance/ledger/").content.decode()
    body = b"".join(charlie.get("/compliance/ledger/export.csv").streaming_content).decode()
    assert "+12125550142" not in body
    # Bob's session is no good on Charlie's host.
    assert logged_in(world.bob, CHARLIE_HOST).get("/compliance/dnc/").status_code == HTTPStatus.FOUND


def test_anonymous_visitors_are_sent_to_log_in(world):
    assert http(BOB_HOST).get("/compliance/ledger/").status_code == HTTPStatus.FOUND


def test_the_admin_ledger_is_read_only_and_exports(world, logged_in, registry, decide):
    decision = decide(world.bobs, NY)
    bob = logged_in(world.bob, BOB_HOST)
    assert bob.get("/admin/compliance/ledgerentry/").status_code == HTTPStatus.OK
    assert "+12125550142" in bob.get("/admin/compliance/ledgerentry/", {"q": "2125550142"}).content.decode()
    assert bob.get(f"/admin/compliance/ledgerentry/{decision.ledger_id}/delete/").status_code == HTTPStatus.FORBIDDEN
    response = bob.post("/admin/compliance/ledgerentry/", {"action": "export_csv", "_selected_action": [decision.ledger_id]})
    assert "+12125550142" in b"".join(response.streaming_content).decode()


def test_the_admin_checks_a_number_with_reasons(world, logged_in, registry):
    admin = logged_in(world.alice, PLATFORM_HOST)
    page = admin.post("/clients/bobsplumbing/admin/compliance/ledgerentry/check/", {
        "number": "+18005550142", "purpose": "telemarketing", "channel": "voice", "state": ""}).content.decode()
    assert "Deny +18005550142" in page and "location_unknown" in page
    with tenant_context(world.bobs):
        assert LedgerEntry.objects.filter(asked_by="admin:alice@switchboard.test").exists()


def test_the_platform_admin_manages_rules_and_the_platform_list(world, logged_in):
    admin = logged_in(world.alice, PLATFORM_HOST)
    assert "Fla. Stat." in admin.get("/admin/compliance_platform/callingrule/").content.decode()
    response = admin.post("/admin/compliance_platform/platformdncentry/add/", {"number": "212 555 0142", "reason": "x",
                                                                               "source": "complaint", "added_by": ""})
    assert response.status_code == HTTPStatus.FOUND
    assert PlatformDncEntry.objects.get().added_by == "alice@switchboard.test"
