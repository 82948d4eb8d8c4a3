"""CSV export of a date range: streamed, fields flattened, the client's time zone, its data only."""

from __future__ import annotations

import csv
import io
from datetime import datetime
from http import HTTPStatus
from zoneinfo import ZoneInfo

import pytest
from django_tenants.utils import schema_context

from tests.conftest import BOB_HOST, CHARLIE_HOST
from tests.portal.conftest import take

pytestmark = pytest.mark.django_db
NY = ZoneInfo("America/New_York")


def _rows(response) -> list[dict]:
    assert response.status_code == HTTPStatus.OK
    assert response.streaming
    body = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(body)))


@pytest.fixture
def march(world):
    with schema_context("bobsplumbing"):
        first = take(world.bobs, deliver=False, at=datetime(2026, 3, 1, 23, 30, tzinfo=NY), caller_name="Late Lee",
                     fields={"problem": "No heat", "units": 3})
        second = take(world.bobs, deliver=False, at=datetime(2026, 3, 2, 9, 0, tzinfo=NY), caller_name="=HYPERLINK(1)",
                      fields={"problem": "Leak", "address": "1 Main St"}, urgency="urgent")
        take(world.bobs, deliver=False, at=datetime(2026, 3, 3, 0, 1, tzinfo=NY), caller_name="Too Late")
    with schema_context("charlieclinic"):
        take(world.charlies, deliver=False, at=datetime(2026, 3, 1, 12, 0, tzinfo=NY), caller_name="Charlie's caller",
             fields={"symptom": "cough"})
    return first, second


def test_it_exports_the_range_with_fields_as_columns(world, logged_in, march):
    first, second = march
    response = logged_in(world.bea, BOB_HOST).get("/messages/export.csv?since=2026-03-01&until=2026-03-02")
    assert response["Content-Type"].startswith("text/csv")
    assert 'filename="bobsplumbing-messages-2026-03-01-to-2026-03-02.csv"' in response["Content-Disposition"]
    rows = _rows(response)
    assert [r["id"] for r in rows] == [str(first.pk), str(second.pk)]
    # Local time of the client, with its offset; 23:30 on 1 March stays on 1 March.
    assert rows[0]["taken"] == "2026-03-01T23:30:00-05:00"
    assert rows[0]["field:problem"] == "No heat" and rows[0]["field:units"] == "3" and rows[0]["field:address"] == ""
    assert rows[1]["field:address"] == "1 Main St" and rows[1]["urgency"] == "urgent"
    # A caller's words never become a spreadsheet formula.
    assert rows[1]["caller_name"] == "'=HYPERLINK(1)"
    assert "field:symptom" not in rows[0]  # Charlie's fields are not Bob's columns


def test_another_client_exports_only_its_own(world, logged_in, march):
    rows = _rows(logged_in(world.charlie, CHARLIE_HOST).get("/messages/export.csv?since=2026-03-01&until=2026-03-02"))
    assert [r["caller_name"] for r in rows] == ["Charlie's caller"]
    # Bob's export on Bob's host with Charlie's session: not logged in there, no CSV.
    response = logged_in(world.charlie, BOB_HOST).get("/messages/export.csv?since=2026-03-01&until=2026-03-02")
    assert response.status_code == HTTPStatus.FOUND and response["Location"].startswith("/accounts/login/")


def test_a_range_ends_after_it_starts(world, logged_in):
    # Without dates the export is the inbox's current filter (tests/portal/test_rough_edges.py).
    client = logged_in(world.bea, BOB_HOST)
    assert client.get("/messages/export.csv").status_code == HTTPStatus.OK
    assert client.get("/messages/export.csv?since=2026-03-05&until=2026-03-01").status_code == HTTPStatus.BAD_REQUEST
