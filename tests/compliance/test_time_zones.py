"""The DNC list and the ledger in the client's time zone, saying which: portal, admin, CSV
(issue 15, finding 8). Charlie's Clinic is in Chicago, Bob's Plumbing in New York."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from django.utils.dateformat import format as date_format
from django_tenants.utils import tenant_context

from compliance.models import DncEntry, LedgerEntry
from compliance.rules import OptOutSource
from compliance.services import opt_out_record
from tests.conftest import BOB_HOST

from .conftest import NY

pytestmark = pytest.mark.django_db
NEW_YORK = ZoneInfo("America/New_York")


def _local(at: datetime, fmt: str) -> str:
    return date_format(at.astimezone(NEW_YORK), fmt)


def test_the_dnc_list_shows_new_york_times_and_says_so(world, logged_in):
    with tenant_context(world.bobs):
        opt_out_record(client=world.bobs, number=NY, source=OptOutSource.PORTAL, added_by="bob")
        entry = DncEntry.objects.get(number=NY)
    page = logged_in(world.bea, BOB_HOST).get("/compliance/dnc/").content.decode()
    local = _local(entry.created, "D j M, H:i T")
    assert local.endswith(("EST", "EDT"))
    assert f'<td data-label="Added">{local}</td>' in page
    assert "Times in America/New_York" in page
    assert '<span class="number" title="+12125550142">(212) 555-0142</span>' in page


def test_the_ledger_in_the_portal_its_csv_and_the_admin_are_in_new_york_time(world, logged_in, registry, decide):
    decide(world.bobs, NY, asked_by="dialer")
    with tenant_context(world.bobs):
        entry = LedgerEntry.objects.filter(number=NY).latest("created")
    bea = logged_in(world.bea, BOB_HOST)
    page = bea.get("/compliance/ledger/").content.decode()
    assert _local(entry.created, "D j M Y, H:i:s T") in page and "Times in America/New_York" in page

    rows = list(csv.DictReader(io.StringIO(b"".join(bea.get("/compliance/ledger/export.csv").streaming_content)
                                           .decode())))
    row = next(r for r in rows if r["id"] == str(entry.pk))
    # Each value carries its offset: New York's, not UTC's.
    assert row["created"] == entry.created.astimezone(NEW_YORK).isoformat(timespec="seconds")
    assert row["created"].endswith(("-05:00", "-04:00")) and row["at"].endswith(("-05:00", "-04:00"))

    bob = logged_in(world.bob, BOB_HOST)
    admin_page = bob.get("/admin/compliance/ledgerentry/").content.decode()
    assert _local(entry.created, "D j M Y, H:i:s T") in admin_page
    assert 'id="ledger-time-zone">Times in America/New_York' in admin_page
    exported = bob.post("/admin/compliance/ledgerentry/", {"action": "export_csv", "_selected_action": [entry.pk]})
    body = b"".join(exported.streaming_content).decode()
    assert entry.created.astimezone(NEW_YORK).isoformat(timespec="seconds") in body


def test_the_admin_dnc_list_is_in_new_york_time(world, logged_in):
    with tenant_context(world.bobs):
        opt_out_record(client=world.bobs, number=NY, source=OptOutSource.ADMIN, added_by="bob")
        entry = DncEntry.objects.get(number=NY)
    page = logged_in(world.bob, BOB_HOST).get("/admin/compliance/dncentry/").content.decode()
    assert _local(entry.created, "D j M Y, H:i:s T") in page
