"""The client's portal campaign pages: Bob's Plumbing's "Spring tune-up" with a list of four
contacts and a few calls. Bob (the client's admin) starts and pauses it, uploads a list, maps
its columns and sees the job; Bea (a client user) reads everything and changes nothing. The
figures' definitions, the results' filters and the CSV export are checked against the rows."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from decimal import Decimal
from http import HTTPStatus

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.utils import timezone
from django_tenants.utils import schema_context

from answering.acd.models import DialerCampaign
from campaigns import selectors
from campaigns.models import CallAttempt, Campaign, Contact, ContactImport, ContactList
from campaigns.services import imports, lifecycle
from compliance.rules import Purpose
from compliance.selectors import campaign_abandonment_rate
from tests.conftest import BOB_HOST

pytestmark = pytest.mark.django_db
Outcome = CallAttempt.Outcome


class Spring:
    """Bob's campaign and what it holds (ids, for the pages)."""

    def __init__(self):
        now = timezone.now()
        self.campaign = lifecycle.campaign_create(name="Spring tune-up", purpose=Purpose.TELEMARKETING)
        self.list = ContactList.objects.create(campaign=self.campaign, name="March leads", priority=5)
        self.other_list = ContactList.objects.create(campaign=self.campaign, name="Old customers", priority=1)
        sale = self.campaign.dispositions.get(code="sale")
        not_interested = self.campaign.dispositions.get(code="not_interested")

        def contact(number, first, status, lst=None, **fields):
            return Contact.objects.create(campaign=self.campaign, list=lst or self.list, number=number,
                                          first_name=first, last_name="Doe", status=status, **fields)

        self.pat = contact("+12125550201", "Pat", Contact.Status.DONE, attempts=2, last_outcome=Outcome.LIVE_ANSWERED,
                           disposition=sale, fields={"plan": "Gold", "note": "=HYPERLINK(\"x\")"})
        self.quinn = contact("+12125550202", "Quinn", Contact.Status.RETRY, attempts=1, last_outcome=Outcome.NO_ANSWER,
                             next_attempt_at=now + timedelta(hours=2))
        self.rae = contact("+12125550203", "Rae", Contact.Status.NEW)
        self.sol = contact("+12125550204", "Sol", Contact.Status.DONE, lst=self.other_list, attempts=1,
                           last_outcome=Outcome.ABANDONED, disposition=not_interested)

        def attempt(who, outcome, minutes_ago, **fields):
            return CallAttempt.objects.create(campaign=self.campaign, contact=who, number=who.number,
                                              channel="autodialed", purpose=Purpose.TELEMARKETING,
                                              started_at=now - timedelta(minutes=minutes_ago), outcome=outcome,
                                              **fields)

        attempt(self.pat, Outcome.MACHINE, 60 * 24 * 2)  # two days ago: not today
        attempt(self.pat, Outcome.LIVE_ANSWERED, 30, disposition=sale, amount=Decimal("149.00"), agent_id=0)
        attempt(self.quinn, Outcome.NO_ANSWER, 20)
        attempt(self.sol, Outcome.ABANDONED, 10, disposition=not_interested)
        attempt(self.sol, Outcome.BUSY, 60 * 24 * 40)  # 40 days ago: outside the 30 days
        attempt(self.rae, Outcome.NOT_PLACED, 5)  # never reached the network: no dial, no attempt counted


@pytest.fixture
def spring(world):
    with schema_context("bobsplumbing"):
        spring = Spring()
        # The agent who closed Pat's sale: Ben, a public user.
        CallAttempt.objects.filter(contact=spring.pat, outcome=Outcome.LIVE_ANSWERED).update(agent_id=world.ben.pk)
    return spring


@pytest.fixture
def bob(world, logged_in):
    return logged_in(world.bob, BOB_HOST)


@pytest.fixture
def bea(world, logged_in):
    return logged_in(world.bea, BOB_HOST)


def test_the_figures_follow_their_definitions(spring):
    with schema_context("bobsplumbing"):
        figures = selectors.campaign_figures(spring.campaign)
        # Dials: machine, live, no answer, abandoned, busy (not the one never placed).
        assert figures.dials == 5 and figures.answers == 3
        assert figures.answer_rate == pytest.approx(3 / 5)
        assert figures.attempts == 5  # the not-placed one is no attempt
        assert (figures.dials_today, figures.answers_today) == (3, 2)
        assert figures.answer_rate_today == pytest.approx(2 / 3)
        assert (figures.abandoned_today, figures.live_today) == (1, 2)
        assert figures.abandon_rate_today == pytest.approx(0.5)
        gate = campaign_abandonment_rate(campaign=spring.campaign)
        assert (figures.abandoned_30d, figures.live_30d) == (gate.abandoned, gate.live_answered) == (1, 2)
        assert figures.abandonment_status == gate.status == "stop" and figures.abandonment_risk == "over"
        assert figures.conversions == 1  # the sale; "not interested" is no success
        assert figures.contacts == 4 and figures.contacts_left == 2  # Quinn (retry) and Rae (new)
        assert figures.contacts_by_status["done"] == 2 and figures.attempts_by_outcome["busy"] == 1
        stats = figures.stats()
        assert stats["contacts_left"] == 2 and stats["answered_today"] == 2 and stats["abandon_rate_30d"] == 0.5

        [summary] = [s for s in selectors.campaign_summaries() if s.campaign.pk == spring.campaign.pk]
        assert (summary.contacts, summary.contacts_left, summary.attempts, summary.conversions) == (4, 2, 5, 1)
        assert summary.answer_rate == figures.answer_rate
        assert (summary.abandoned_30d, summary.live_30d) == (gate.abandoned, gate.live_answered)


def test_the_figures_are_few_queries_however_many_campaigns(spring, django_assert_max_num_queries):
    with schema_context("bobsplumbing"):
        for n in range(5):
            lifecycle.campaign_create(name=f"More {n}", purpose=Purpose.INFORMATIONAL)
        with django_assert_max_num_queries(3):
            assert len(selectors.campaign_summaries()) >= 6
        with django_assert_max_num_queries(3):
            selectors.campaign_figures(spring.campaign)


def test_the_list_shows_each_campaign_with_its_figures(spring, bea):
    page = bea.get("/campaigns/")
    assert page.status_code == HTTPStatus.OK
    html = page.content.decode()
    assert "Spring tune-up" in html and 'aria-current="page">Campaigns' in html
    assert "4 · 2" in html  # contacts · left
    assert "60.0 %" in html  # answer rate
    assert "50.0 %" in html and "1 of 2" in html  # abandoned over 30 days
    assert 'data-action="start"' not in html  # Bea reads; only admins act


def test_an_admin_starts_and_pauses_it_through_the_page(spring, bob):
    page = bob.get("/campaigns/").content.decode()
    assert f'action="/campaigns/{spring.campaign.pk}/start"' in page
    response = bob.post(f"/campaigns/{spring.campaign.pk}/start", follow=True)
    assert response.redirect_chain[-1][0] == "/campaigns/"
    assert "“Spring tune-up” is running." in response.content.decode()
    with schema_context("bobsplumbing"):
        spring.campaign.refresh_from_db()
        assert spring.campaign.state == Campaign.State.RUNNING and "Bob Builder" in spring.campaign.state_reason
    assert DialerCampaign.objects.filter(campaign_id=spring.campaign.pk, client__schema_name="bobsplumbing").exists()

    response = bob.post(f"/campaigns/{spring.campaign.pk}/pause", {"next": "campaign"}, follow=True)
    assert response.redirect_chain[-1][0] == f"/campaigns/{spring.campaign.pk}/"
    assert "is paused" in response.content.decode()
    with schema_context("bobsplumbing"):
        spring.campaign.refresh_from_db()
        assert spring.campaign.state == Campaign.State.PAUSED
    assert not DialerCampaign.objects.filter(campaign_id=spring.campaign.pk).exists()


def test_a_refusal_is_said_in_words(spring, bob):
    bob.post(f"/campaigns/{spring.campaign.pk}/stop")
    response = bob.post(f"/campaigns/{spring.campaign.pk}/start", follow=True)
    assert "“Spring tune-up” is stopped; it cannot start again." in response.content.decode()
    with schema_context("bobsplumbing"):
        spring.campaign.refresh_from_db()
        assert spring.campaign.state == Campaign.State.STOPPED


def test_a_get_changes_nothing(spring, bob):
    assert bob.get(f"/campaigns/{spring.campaign.pk}/start").status_code == HTTPStatus.METHOD_NOT_ALLOWED
    with schema_context("bobsplumbing"):
        spring.campaign.refresh_from_db()
        assert spring.campaign.state == Campaign.State.DRAFT


def test_the_campaign_page_shows_lists_figures_and_results(spring, bea):
    html = bea.get(f"/campaigns/{spring.campaign.pk}/").content.decode()
    assert "March leads" in html and "Old customers" in html
    assert f'data-list="{spring.list.pk}"' in html and "3 · 2" in html  # March leads: 3 contacts, 2 left
    for who in (spring.pat, spring.quinn, spring.rae, spring.sol):
        assert f'data-contact="{who.pk}"' in html
    assert "149.00" in html and "Ben" in html and "Sale" in html  # Pat's amount, agent, disposition
    assert 'data-recycle' not in html and 'id="upload"' not in html  # Bea changes nothing
    partial = bea.get(f"/campaigns/{spring.campaign.pk}/?partial=1").content.decode()
    assert 'id="figures"' in partial and "<html" not in partial


def test_results_are_filtered_by_status_outcome_list_and_words(spring, bea):
    def contacts(query: str) -> set[int]:
        html = bea.get(f"/campaigns/{spring.campaign.pk}/?partial=results&{query}").content.decode()
        return {c.pk for c in (spring.pat, spring.quinn, spring.rae, spring.sol) if f'data-contact="{c.pk}"' in html}

    assert contacts("") == {spring.pat.pk, spring.quinn.pk, spring.rae.pk, spring.sol.pk}
    assert contacts("status=done") == {spring.pat.pk, spring.sol.pk}
    assert contacts("outcome=no_answer") == {spring.quinn.pk}
    assert contacts("status=done&outcome=abandoned") == {spring.sol.pk}
    assert contacts(f"list={spring.other_list.pk}") == {spring.sol.pk}
    assert contacts("q=quinn") == {spring.quinn.pk}
    assert contacts("q=555-0203") == {spring.rae.pk}
    assert contacts("status=banana") == {spring.pat.pk, spring.quinn.pk, spring.rae.pk, spring.sol.pk}  # ignored
    assert contacts("status=banana&outcome=no_answer") == {spring.quinn.pk}  # the valid part still filters


def test_results_are_paginated(spring, bea, monkeypatch):
    from portal import campaigns as pages

    monkeypatch.setattr(pages, "RESULTS_PER_PAGE", 3)
    first = bea.get(f"/campaigns/{spring.campaign.pk}/?partial=results").content.decode()
    second = bea.get(f"/campaigns/{spring.campaign.pk}/?partial=results&page=2").content.decode()
    assert "Page 1 of 2 (4 contacts)" in first and f'data-contact="{spring.sol.pk}"' not in first
    assert f'data-contact="{spring.sol.pk}"' in second and f'data-contact="{spring.pat.pk}"' not in second


def test_the_export_streams_every_contact_with_its_outcome(spring, bea):
    response = bea.get(f"/campaigns/{spring.campaign.pk}/results.csv")
    assert response.status_code == HTTPStatus.OK and response.streaming
    assert f"bobsplumbing-campaign-{spring.campaign.pk}-results-" in response["Content-Disposition"]
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode("utf-8-sig"))))
    assert [r["number"] for r in rows] == ["+12125550201", "+12125550202", "+12125550203", "+12125550204"]
    pat = rows[0]
    assert (pat["status"], pat["disposition"], pat["amount"], pat["agent"], pat["attempts"]) == (
        "Done", "Sale", "149.00", "Ben", "2")
    assert pat["last_outcome"] == "Answered by a person, connected to an agent"
    assert pat["field:plan"] == "Gold"
    assert pat["field:note"].startswith("'=")  # a formula from a list never runs in a spreadsheet
    assert rows[1]["next_attempt_at"].endswith(("-04:00", "-05:00"))  # in Bob's zone, New York
    filtered = bea.get(f"/campaigns/{spring.campaign.pk}/results.csv?status=done")
    rows = list(csv.DictReader(io.StringIO(b"".join(filtered.streaming_content).decode("utf-8-sig"))))
    assert [r["first_name"] for r in rows] == ["Pat", "Sol"]


FILE = (b"Phone,First Name,Plan Type\r\n"
        b"(212) 555-0301,Uma,Gold\r\n"
        b"banana,Vic,Silver\r\n"
        b"212-555-0302,Wes,\r\n")


def test_upload_mapping_and_the_import_job(spring, bob, django_capture_on_commit_callbacks):
    response = bob.post(f"/campaigns/{spring.campaign.pk}/upload",
                        {"file": SimpleUploadedFile("april.csv", FILE), "name": "April leads", "priority": "7"})
    assert response.status_code == HTTPStatus.FOUND
    with schema_context("bobsplumbing"):
        job = ContactImport.objects.get(filename="april.csv")
        assert job.list.name == "April leads" and job.list.priority == 7 and job.mapping == {}
    assert response["Location"] == f"/campaigns/imports/{job.pk}/mapping"

    form = bob.get(response["Location"]).content.decode()
    # Pre-filled with the guess: the phone, the first name, a custom field for the plan.
    assert '<option value="number" selected>' in form
    assert '<option value="first_name" selected>' in form
    assert '<option value="field:plan_type" selected>' in form

    with django_capture_on_commit_callbacks(execute=False) as queued:
        done = bob.post(response["Location"], {"column_0": "number", "column_1": "first_name",
                                               "column_2": "field:plan_type"})
    assert done["Location"] == f"/campaigns/imports/{job.pk}/"
    assert len(queued) == 1  # the import's task, sent after the commit
    with schema_context("bobsplumbing"):
        job.refresh_from_db()
        assert job.mapping == {"Phone": "number", "First Name": "first_name", "Plan Type": "field:plan_type"}
        assert job.status == ContactImport.Status.QUEUED
    waiting = bob.get(done["Location"]).content.decode()
    assert "Waiting for a worker to start" in waiting and "data-progress-bar" in waiting
    # What the worker does (tests/campaigns/test_portal_browser.py runs a real one).
    with schema_context("bobsplumbing"):
        imports.contact_import_run(import_id=job.pk)
    state = bob.get(f"/campaigns/imports/{job.pk}/progress").json()
    assert (state["finished"], state["added"], state["errors"], state["percent"]) == (True, 2, 1, 100)
    page = bob.get(done["Location"]).content.decode()
    assert "Done: 2 added" in page and "Lines not imported" in page
    assert '<td data-label="Line">3</td><td data-label="Field">number</td>' in page
    with schema_context("bobsplumbing"):
        assert Contact.objects.get(number="+12125550301").fields == {"plan_type": "Gold"}
    # Mapped already: the mapping page sends a second visit to the job.
    assert bob.get(f"/campaigns/imports/{job.pk}/mapping")["Location"] == f"/campaigns/imports/{job.pk}/"


def test_a_mapping_without_the_number_is_refused_with_why(spring, bob):
    location = bob.post(f"/campaigns/{spring.campaign.pk}/upload",
                        {"file": SimpleUploadedFile("x.csv", FILE), "contact_list": spring.list.pk})["Location"]
    page = bob.post(location, {"column_0": "", "column_1": "first_name"})
    assert page.status_code == HTTPStatus.OK
    assert "No column is mapped to the phone number" in page.content.decode()
    with schema_context("bobsplumbing"):
        job = ContactImport.objects.get(filename="x.csv")
        assert job.mapping == {} and job.list == spring.list  # nothing queued; the file is still there


def test_a_file_that_is_no_csv_leaves_no_list_behind(spring, bob):
    response = bob.post(f"/campaigns/{spring.campaign.pk}/upload",
                        {"file": SimpleUploadedFile("empty.csv", b""), "name": "Nothing"}, follow=True)
    assert response.redirect_chain[-1][0] == f"/campaigns/{spring.campaign.pk}/"
    assert 'class="error"' in response.content.decode()
    with schema_context("bobsplumbing"):
        assert not ContactList.objects.filter(name="Nothing").exists()
        assert not ContactImport.objects.filter(filename="empty.csv").exists()


def test_an_upload_needs_a_list(spring, bob):
    response = bob.post(f"/campaigns/{spring.campaign.pk}/upload", {"file": SimpleUploadedFile("y.csv", FILE)},
                        follow=True)
    assert "Name the new list, or choose a list to import into." in response.content.decode()


def test_recycling_a_list_puts_its_exhausted_contacts_back(spring, bob):
    with schema_context("bobsplumbing"):
        Contact.objects.filter(pk=spring.quinn.pk).update(status=Contact.Status.EXHAUSTED, attempts=3)
    response = bob.post(f"/campaigns/lists/{spring.list.pk}/recycle", follow=True)
    assert "March leads: 1 contact out of attempts back to be called afresh." in response.content.decode()
    with schema_context("bobsplumbing"):
        spring.quinn.refresh_from_db()
        assert (spring.quinn.status, spring.quinn.attempts) == (Contact.Status.NEW, 0)
