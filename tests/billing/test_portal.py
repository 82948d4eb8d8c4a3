"""The portal's billing pages at Bob's Plumbing: Bob (the client's admin) sees this month's
statement and past ones, each item linked to its call, and downloads a CSV that adds up; Bea
(a client user) is refused; Charlie's host never shows Bob's statements."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from decimal import Decimal
from http import HTTPStatus

import pytest
from django.utils import timezone
from django_tenants.utils import schema_context

from billing.models import Statement
from billing.services import period_current, statement_build, statement_issue
from tests.billing.conftest import assign, per_second_plan, record
from tests.conftest import BOB_HOST, CHARLIE_HOST

pytestmark = pytest.mark.django_db


@pytest.fixture
def bobs_month(world):
    """Bob's plan, three calls this month (by the second at 0.90/min) and last month's
    statement, issued."""
    billing_plan = per_second_plan()
    assign(world.bobs, billing_plan)
    now = timezone.now()
    start, _ = period_current(world.bobs).bounds(world.bobs.time_zone)
    calls = [record(world.bobs.schema_name, max(start, now - timedelta(days=1)) + timedelta(minutes=i),
                    talk=talk, wrap=wrap, agent=world.ana) for i, (talk, wrap) in enumerate([(95, 20), (45, 0), (61, 0)])]
    previous = start - timedelta(days=3)
    old = record(world.bobs.schema_name, previous, talk=600, wrap=0)
    with schema_context(world.bobs.schema_name):
        last = statement_build(client=world.bobs, period=str(period_current(world.bobs, previous)))
        statement_issue(statement=last)
    return calls, old, last


def test_bob_sees_the_current_statement_and_past_ones(world, logged_in, bobs_month):
    calls, old, last = bobs_month
    page = logged_in(world.bob, BOB_HOST).get("/billing/")
    assert page.status_code == HTTPStatus.OK
    html = page.content.decode()
    # 115 s → 1.73, 45 s → 0.68 (0.675 half up), 61 s → 0.92: 3.33.
    assert "3.33 USD" in html and "Per second" in html
    assert f'data-statement="{last.pk}"' in html and "9.00 USD" in html  # last month: 600 s at 0.015
    with schema_context(world.bobs.schema_name):
        current = Statement.objects.get(period=str(period_current(world.bobs)))
    detail = logged_in(world.bob, BOB_HOST).get(f"/billing/{current.pk}/").content.decode()
    for call in calls:
        assert f'href="/calls/?call={call.pk}"' in detail and call.call_sid in detail
    assert 'href="/billing/"' in detail


def test_the_csv_adds_up(world, logged_in, bobs_month):
    with schema_context(world.bobs.schema_name):
        current = statement_build(client=world.bobs, period=str(period_current(world.bobs)))
    response = logged_in(world.bob, BOB_HOST).get(f"/billing/{current.pk}/statement.csv")
    assert response.status_code == HTTPStatus.OK and response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    items, total = rows[:-1], rows[-1]
    assert len(items) == 3 and total["item"] == "total"
    assert sum(Decimal(r["amount"]) for r in items) == Decimal(total["amount"]) == current.total == Decimal("3.33")
    assert all(r["reference"].startswith("CA") and r["call_id"] for r in items)


def test_a_client_user_is_refused(world, logged_in, bobs_month):
    response = logged_in(world.bea, BOB_HOST).get("/billing/")
    assert response.status_code == HTTPStatus.FORBIDDEN
    assert b"Only your organisation" in response.content
    _, _, last = bobs_month
    assert logged_in(world.bea, BOB_HOST).get(f"/billing/{last.pk}/statement.csv").status_code == HTTPStatus.FORBIDDEN


def test_another_clients_statement_is_not_found(world, logged_in, bobs_month):
    _, _, last = bobs_month
    charlie = logged_in(world.charlie, CHARLIE_HOST)
    assert charlie.get(f"/billing/{last.pk}/").status_code == HTTPStatus.NOT_FOUND
    assert charlie.get(f"/billing/{last.pk}/statement.csv").status_code == HTTPStatus.NOT_FOUND
    page = charlie.get("/billing/").content.decode()
    assert "No billing plan is set for you yet" in page and "9.00" not in page


def test_an_issued_statement_is_not_rebuilt_from_the_portal(world, logged_in, bobs_month):
    _, _, last = bobs_month
    response = logged_in(world.bob, BOB_HOST).post(f"/billing/{last.pk}/rebuild", follow=True)
    assert "it is not rebuilt" in response.content.decode()
    with schema_context(world.bobs.schema_name):
        assert Statement.objects.get(pk=last.pk).total == Decimal("9.00")


def test_the_page_fits_a_phone(world, logged_in, bobs_month):
    html = logged_in(world.bob, BOB_HOST).get("/billing/").content.decode()
    assert 'class="cards' in html and 'name="viewport"' in html
    assert "http://" not in html.replace("http://testserver", "") and "https://" not in html


def test_the_nav_links_billing_for_client_admins_only(world, logged_in, bobs_month):
    assert 'href="/billing/"' in logged_in(world.bob, BOB_HOST).get("/messages/").content.decode()
    assert 'href="/billing/"' not in logged_in(world.bea, BOB_HOST).get("/messages/").content.decode()


