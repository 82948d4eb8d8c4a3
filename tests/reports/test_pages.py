"""The reports' pages: the client's portal page and its CSV / XLSX (the same numbers), the
cross-client page for supervisors and platform admins, the week at a glance on the portal's
home, refusals that name the field — and isolation: no client's report shows another's calls."""

from __future__ import annotations

import csv
import io
from http import HTTPStatus

import pytest
from django_tenants.utils import schema_context
from openpyxl import load_workbook

from reports.exports import report_table
from reports.figures import Period, report_build
from tests.conftest import BOB_HOST, CHARLIE_HOST, PLATFORM_HOST
from tests.reports.conftest import DAY, call, seed_day

pytestmark = pytest.mark.django_db
QUERY = f"from={DAY}&to={DAY}&by=day"


@pytest.fixture
def bobs_day(world):
    with schema_context("bobsplumbing"):
        return seed_day(world, "pg")


def _csv(response) -> list[list[str]]:
    return list(csv.reader(io.StringIO(b"".join(response.streaming_content).decode())))


def _xlsx(response) -> list[list]:
    sheet = load_workbook(io.BytesIO(response.content), read_only=True).active
    return [list(row) for row in sheet.iter_rows(values_only=True)]


def _same(csv_cell: str, xlsx_cell) -> bool:
    if xlsx_cell is None:
        return csv_cell == ""
    if isinstance(xlsx_cell, (int, float)):
        return float(csv_cell) == pytest.approx(float(xlsx_cell))
    return csv_cell == str(xlsx_cell)


@pytest.mark.parametrize("by", ["day", "hour", "agent", "campaign"])
def test_the_csv_and_the_xlsx_hold_the_same_numbers_as_the_figures(world, logged_in, bobs_day, by):
    bea = logged_in(world.bea, BOB_HOST)
    query = f"from={DAY}&to={DAY}&by={by}"
    as_csv = bea.get(f"/reports/export.csv?{query}")
    as_xlsx = bea.get(f"/reports/export.xlsx?{query}")
    assert as_csv.status_code == as_xlsx.status_code == HTTPStatus.OK
    assert as_xlsx["Content-Type"].startswith("application/vnd.openxmlformats")
    rows_csv, rows_xlsx = _csv(as_csv), _xlsx(as_xlsx)
    assert len(rows_csv) == len(rows_xlsx) > 2
    for line_csv, line_xlsx in zip(rows_csv, rows_xlsx, strict=True):
        assert all(_same(a, b) for a, b in zip(line_csv, line_xlsx, strict=True)), (line_csv, line_xlsx)
    with schema_context("bobsplumbing"):
        expected = report_table(report_build(Period(DAY, DAY, world.bobs.time_zone), by))
    header = rows_csv[0]
    total = dict(zip(header, rows_csv[-1], strict=True))
    assert total[header[0]] == "Total"
    assert total["Answered"] == "6" and total["Offered"] == "9" and total["Service level (percent)"] == "0.6667"
    assert rows_csv[-1] == [("" if v is None else str(v)) for v in expected[-1]]


def test_the_page_shows_the_figures_with_their_charts(world, logged_in, bobs_day):
    page = logged_in(world.bea, BOB_HOST).get(f"/reports/?{QUERY}")
    assert page.status_code == HTTPStatus.OK
    html = page.content.decode()
    assert 'id="report-data"' in html and "/static/vendor/uplot/uPlot.iife.min.js" in html
    assert 'data-figure="answered" data-value="6"' in html and 'data-figure="offered" data-value="9"' in html
    assert 'data-figure="service_level" data-value="0.6667">66.7 %' in html
    assert bobs_day["campaign"].name in html  # campaigns now
    assert "href=\"/reports/export.csv?" in html and "href=\"/reports/export.xlsx?" in html


@pytest.mark.parametrize(("query", "words"), [
    ("from=2026-11-05&to=2026-11-01", "To: The last day is before the first."),
    ("from=2026-02-30", "From: Enter a valid date."),
    ("from=2026-01-01&to=2026-03-01&by=hour", "By: By hour covers at most 31 days"),
    ("by=week", "By: Select a valid choice."),
    ("from=0001-01-01&to=2026-01-01", "From: Enter a date between 1900-01-01 and 2999-12-31."),
])
def test_bad_input_is_a_400_that_names_the_field(world, logged_in, query, words):
    bea = logged_in(world.bea, BOB_HOST)
    page = bea.get(f"/reports/?{query}")
    assert page.status_code == HTTPStatus.BAD_REQUEST and words in page.content.decode()
    export = bea.get(f"/reports/export.csv?{query}")
    assert export.status_code == HTTPStatus.BAD_REQUEST and words in export.content.decode()


def test_a_bare_page_shows_the_last_four_weeks_by_day(world, logged_in):
    html = logged_in(world.bea, BOB_HOST).get("/reports/").content.decode()
    assert html.count('<tr><th scope="row">20') >= 28  # a row per day, in each section's table


def test_no_clients_report_shows_anothers_calls(world, logged_in, bobs_day):
    # Charlie's clinic has calls with the same ids and SIDs as Bob's, on another day.
    with schema_context("charlieclinic"):
        mine = [call("pg", n, c.arrived_at.replace(month=10), "answered", wait=1, talk=1, wrap=0)
                for n, c in enumerate(bobs_day["calls"][:2], start=1)]
    assert [c.call_sid for c in mine] == [c.call_sid for c in bobs_day["calls"][:2]]
    charlie = logged_in(world.charlie, CHARLIE_HOST)
    rows = _csv(charlie.get(f"/reports/export.csv?{QUERY}"))
    total = dict(zip(rows[0], rows[-1], strict=True))
    assert total["Calls"] == "0" and total["Answered"] == "0" and total["Dials"] == "0" and total["Messages"] == "0"
    html = charlie.get(f"/reports/?{QUERY}&by=campaign").content.decode()
    assert bobs_day["campaign"].name not in html
    with schema_context("bobsplumbing"):
        october = report_build(Period(DAY.replace(month=10), DAY.replace(month=10), "America/New_York")).total
    assert october.figures["calls"] == 0  # Charlie's October calls are not Bob's
    # Bob's people cannot read Charlie's host at all.
    assert logged_in(world.bob, CHARLIE_HOST).get("/reports/").status_code == HTTPStatus.FOUND


def test_the_platform_report_has_a_row_per_client_for_supervisors(world, logged_in, bobs_day):
    sam = logged_in(world.sam, PLATFORM_HOST)
    page = sam.get(f"/reports/?{QUERY}")
    assert page.status_code == HTTPStatus.OK
    html = page.content.decode()
    assert "Bob&#x27;s Plumbing" in html and "Charlie&#x27;s Clinic" in html
    rows = {r[0]: r for r in _csv(sam.get(f"/reports/export.csv?{QUERY}"))}
    header = rows["Client"]
    bob = dict(zip(header, rows["Bob's Plumbing"], strict=True))
    charlie = dict(zip(header, rows["Charlie's Clinic"], strict=True))
    assert (bob["Answered"], bob["Offered"], charlie["Calls"]) == ("6", "9", "0")
    assert dict(zip(header, rows["All clients"], strict=True))["Answered"] == "6"
    one = sam.get(f"/reports/?{QUERY.replace('by=day', 'by=agent')}&client=bobsplumbing").content.decode()
    assert "Ana Agent" in one and "Ben Agent" in one
    assert sam.get(f"/reports/?{QUERY}&client=nobody").status_code == HTTPStatus.BAD_REQUEST


@pytest.mark.parametrize("who", ["ana", "bob"])
def test_agents_and_client_people_may_not_open_the_platform_report(world, logged_in, who):
    response = logged_in(getattr(world, who), PLATFORM_HOST).get("/reports/")
    assert response.status_code in (HTTPStatus.FORBIDDEN, HTTPStatus.FOUND)
    assert b"Bob" not in response.content


def test_the_admin_sees_the_cross_client_report_and_the_wallboard_links_to_it(world, logged_in):
    alice = logged_in(world.alice, PLATFORM_HOST)
    assert alice.get("/reports/").status_code == HTTPStatus.OK
    assert 'href="/reports/"' in alice.get("/wallboard/").content.decode()


def test_the_portal_home_shows_the_week_at_a_glance(world, logged_in):
    from django.utils import timezone

    with schema_context("bobsplumbing"):
        call("wk", 1, timezone.now(), "answered", wait=4, talk=30, wrap=5)
        call("wk", 2, timezone.now(), "abandoned", wait=30)
    html = logged_in(world.bea, BOB_HOST).get("/").content.decode()
    assert 'id="week-glance"' in html
    assert '<dd data-figure="calls">2</dd>' in html and '<dd data-figure="answer_rate">50 %</dd>' in html
    assert '<dd data-figure="average_speed_of_answer">4 s</dd>' in html
    assert "No calls" not in html
