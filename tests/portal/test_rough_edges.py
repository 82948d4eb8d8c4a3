"""The portal's rough edges (issue 15, finding 11): read-only editors for client users, refusals
without stack traces, the export of the inbox's filter, tap-to-call, the compliance pages in
the portal's layout."""

from __future__ import annotations

import csv
import io
import logging
from datetime import timedelta
from http import HTTPStatus

import pytest
from django.utils import timezone
from django_tenants.utils import schema_context

from answering.models import DeliveryRule, Message, Person, Team
from tests.conftest import BOB_HOST
from tests.portal.conftest import take

pytestmark = pytest.mark.django_db


def test_a_client_user_sees_the_editors_read_only_with_no_form(world, logged_in, oncall):
    bea = logged_in(world.bea, BOB_HOST)
    pages = {
        f"/oncall/teams/{oncall.techs.pk}/": ('id="rotation-readonly"', "Dana Tech → Eli Tech", 'name="period"'),
        f"/policies/{oncall.policy.pk}/": ('id="policy-readonly"', "whoever is on call for Technicians",
                                          'name="steps-TOTAL_FORMS"'),
        "/policies/rules/": ('id="rules-readonly"', "Emergencies", 'name="rules-TOTAL_FORMS"'),
        f"/oncall/people/{oncall.dana.pk}/": ('id="person-readonly"', "(212) 555-0161", 'name="email"'),
    }
    for url, (readonly, shown, form_field) in pages.items():
        response = bea.get(url)
        page = response.content.decode()
        assert response.status_code == HTTPStatus.OK, url
        assert readonly in page and shown in page, url
        assert form_field not in page and "<select" not in page, url  # no form to fill in and be refused


def test_a_client_users_change_is_refused_cleanly(world, logged_in, oncall, caplog):
    bea = logged_in(world.bea, BOB_HOST)
    caplog.set_level(logging.WARNING)
    refused = [
        bea.post(f"/oncall/teams/{oncall.techs.pk}/", {"period": "daily", "handover_time": "08:00",
                                                      "starts_on": "2026-03-01", "member_1": oncall.eli.pk}),
        bea.post(f"/policies/{oncall.policy.pk}/", {"name": "Mine"}),
        bea.post("/policies/rules/", {"rules-TOTAL_FORMS": "0", "rules-INITIAL_FORMS": "0"}),
        bea.post(f"/oncall/people/{oncall.dana.pk}/", {"name": "Mallory"}),
        bea.post("/oncall/", {"name": "Sneaky team"}),
        bea.get("/oncall/people/new"),  # a blank form to add someone is a change too
        bea.get("/policies/new"),
    ]
    for response in refused:
        assert response.status_code == HTTPStatus.FORBIDDEN
        page = response.content.decode()
        assert "You can look, not change" in page and "Only your organisation&#x27;s admins" in page
        assert 'class="portal-nav"' in page  # the portal's page, not a bare 403
    assert not any(record.exc_info for record in caplog.records), [r.getMessage() for r in caplog.records]
    assert not any("Traceback" in record.getMessage() for record in caplog.records)
    with schema_context("bobsplumbing"):
        assert Person.objects.get(pk=oncall.dana.pk).name == "Dana Tech"
        assert not Team.objects.filter(name="Sneaky team").exists() and DeliveryRule.objects.count() == 1


def _csv(response) -> list[dict]:
    assert response.status_code == HTTPStatus.OK
    return list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))


@pytest.fixture
def inbox(world):
    now = timezone.now()
    with schema_context("bobsplumbing"):
        made = {"old": take(world.bobs, deliver=False, at=now - timedelta(days=40), caller_name="Olga Old"),
                "urgent": take(world.bobs, deliver=False, at=now - timedelta(hours=3), urgency="urgent",
                               caller_name="Uma Urgent"),
                "filed": take(world.bobs, deliver=False, at=now - timedelta(hours=1), caller_name="Fay Filed")}
        Message.objects.filter(pk=made["filed"].pk).update(filed_at=now)
    return made


def test_the_export_without_dates_is_the_inbox_as_it_is_filtered(world, logged_in, inbox):
    bea = logged_in(world.bea, BOB_HOST)
    # No dates: the inbox (every page of it, any age), not a refusal.
    assert [r["caller_name"] for r in _csv(bea.get("/messages/export.csv"))] == ["Olga Old", "Uma Urgent"]
    # The inbox's filter goes with it: its link carries the current query.
    page = bea.get("/messages/?urgency=urgent").content.decode()
    assert 'id="export" href="/messages/export.csv?urgency=urgent"' in page
    assert [r["caller_name"] for r in _csv(bea.get("/messages/export.csv?urgency=urgent"))] == ["Uma Urgent"]
    everything = _csv(bea.get("/messages/export.csv?box=all"))
    assert {r["caller_name"] for r in everything} == {"Olga Old", "Uma Urgent", "Fay Filed"}
    # Dates still narrow it, and a range that ends before it starts is still refused.
    assert bea.get("/messages/export.csv?since=2026-03-05&until=2026-03-01").status_code == HTTPStatus.BAD_REQUEST


def test_phone_numbers_are_tap_to_call_written_nationally(world, logged_in, oncall):
    with schema_context("bobsplumbing"):
        message = take(world.bobs, deliver=False, callback_number="+12125550177", caller="+442079460000")
    bea = logged_in(world.bea, BOB_HOST)
    page = bea.get(f"/messages/{message.pk}/").content.decode()
    assert '<a class="tel" href="tel:+12125550177">(212) 555-0177</a>' in page
    # A number from abroad is written internationally, still tap-to-call.
    assert '<a class="tel" href="tel:+442079460000">+44 20 7946 0000</a>' in page
    oncall_page = bea.get("/oncall/").content.decode()
    assert '<a class="tel" href="tel:+12125550161">(212) 555-0161</a>' in oncall_page


def test_the_compliance_pages_are_pages_of_the_portal(world, logged_in):
    bea = logged_in(world.bea, BOB_HOST)
    for url, tab in (("/compliance/dnc/", "Do-not-call list"), ("/compliance/ledger/", "Compliance ledger")):
        page = bea.get(url).content.decode()
        assert 'class="portal-nav"' in page, url
        assert 'aria-current="page">Do not call</a>' in page, url  # the portal's navigation knows where it is
        assert f'aria-current="page">{tab}</a>' in page, url
        assert 'href="/">Portal</a>' not in page  # no second, different navigation
        assert 'class="wide"' in page
