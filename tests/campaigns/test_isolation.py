"""Isolation of the portal's campaign pages: Charlie, on Charlie's Clinic's host, never sees nor
touches Bob's Plumbing's campaigns, lists, results, imports or exports — by any URL, by id.
And on Bob's own host, Bea (a client user) reads but changes nothing: that is for Bob, the
client's admin."""

from __future__ import annotations

import csv
import io
from datetime import timedelta
from http import HTTPStatus

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.utils import timezone
from django_tenants.utils import schema_context

from answering.acd.models import DialerCampaign
from campaigns.models import CallAttempt, Campaign, Contact, ContactImport, ContactList
from campaigns.services import imports, lifecycle
from compliance.rules import Purpose
from tests.conftest import BOB_HOST, CHARLIE_HOST

pytestmark = pytest.mark.django_db
TABLES = (Campaign, ContactList, Contact, ContactImport, CallAttempt)


def _ids_charlie_does_not_have() -> None:
    """Bob's next ids beyond any Charlie's schema has: a 404 below is isolation, not luck."""
    with schema_context("charlieclinic"):
        highest = {m: (m.objects.order_by("-pk").values_list("pk", flat=True).first() or 0) for m in TABLES}
    with schema_context("bobsplumbing"), connection.cursor() as cursor:
        for model, top in highest.items():
            cursor.execute("SELECT setval(pg_get_serial_sequence(%s, 'id'), "
                           "GREATEST(%s, (SELECT COALESCE(MAX(id), 0) FROM " + connection.ops.quote_name(
                               model._meta.db_table) + ")) + 1000)", [model._meta.db_table, top])


class Bobs:
    def __init__(self):
        self.campaign = lifecycle.campaign_create(name="Bob's secret offer", purpose=Purpose.TELEMARKETING)
        self.list = ContactList.objects.create(campaign=self.campaign, name="Bob's VIPs")
        self.contact = Contact.objects.create(campaign=self.campaign, list=self.list, number="+12125550401",
                                              first_name="Vera", status=Contact.Status.EXHAUSTED, attempts=3)
        CallAttempt.objects.create(campaign=self.campaign, contact=self.contact, number=self.contact.number,
                                   channel="autodialed", purpose=Purpose.TELEMARKETING,
                                   started_at=timezone.now() - timedelta(minutes=5), outcome="no_answer")
        self.job = imports.contact_import_prepare(contact_list=self.list, filename="bobs.csv",
                                                  data=b"phone,name\n2125550402,Walt\n", added_by="bob@bobs.test")


@pytest.fixture
def bobs(world):
    _ids_charlie_does_not_have()
    with schema_context("bobsplumbing"):
        return Bobs()


@pytest.fixture
def recalls(world):
    with schema_context("charlieclinic"):
        campaign = lifecycle.campaign_create(name="Charlie's recalls", purpose=Purpose.INFORMATIONAL)
        contact_list = ContactList.objects.create(campaign=campaign, name="Patients")
        Contact.objects.create(campaign=campaign, list=contact_list, number="+13125550501", first_name="Yan")
        return campaign


def _reads(b: Bobs) -> list[str]:
    return [f"/campaigns/{b.campaign.pk}/", f"/campaigns/{b.campaign.pk}/?partial=1",
            f"/campaigns/{b.campaign.pk}/?partial=results", f"/campaigns/{b.campaign.pk}/results.csv",
            f"/campaigns/imports/{b.job.pk}/", f"/campaigns/imports/{b.job.pk}/progress",
            f"/campaigns/imports/{b.job.pk}/mapping"]


def _writes(b: Bobs) -> list[tuple[str, dict]]:
    return [(f"/campaigns/{b.campaign.pk}/start", {}), (f"/campaigns/{b.campaign.pk}/pause", {}),
            (f"/campaigns/{b.campaign.pk}/stop", {}),
            (f"/campaigns/{b.campaign.pk}/upload", {"file": SimpleUploadedFile("x.csv", b"phone\n2125550403\n"),
                                                    "name": "Sneaky"}),
            (f"/campaigns/lists/{b.list.pk}/recycle", {}),
            (f"/campaigns/imports/{b.job.pk}/mapping", {"column_0": "number"})]


def _unchanged(b: Bobs) -> None:
    with schema_context("bobsplumbing"):
        b.campaign.refresh_from_db()
        assert b.campaign.state == Campaign.State.DRAFT
        b.contact.refresh_from_db()
        assert (b.contact.status, b.contact.attempts) == (Contact.Status.EXHAUSTED, 3)
        b.job.refresh_from_db()
        assert b.job.mapping == {}
        assert list(ContactList.objects.filter(campaign=b.campaign).values_list("name", flat=True)) == ["Bob's VIPs"]
    assert not DialerCampaign.objects.filter(client__schema_name="bobsplumbing", campaign_id=b.campaign.pk).exists()
    with schema_context("charlieclinic"):
        assert not ContactList.objects.filter(name="Sneaky").exists()
        assert not ContactImport.objects.filter(filename="x.csv").exists()


def test_charlie_finds_none_of_bobs_campaign_urls_on_his_host(bobs, recalls, world, logged_in):
    charlie = logged_in(world.charlie, CHARLIE_HOST)
    for url in _reads(bobs):
        assert charlie.get(url).status_code == HTTPStatus.NOT_FOUND, url
    for url, data in _writes(bobs):
        assert charlie.post(url, data).status_code == HTTPStatus.NOT_FOUND, url
    _unchanged(bobs)


def test_charlies_pages_and_exports_show_only_his_own(bobs, recalls, world, logged_in):
    charlie = logged_in(world.charlie, CHARLIE_HOST)
    listing = charlie.get("/campaigns/").content.decode()
    assert "Charlie&#x27;s recalls" in listing and "secret offer" not in listing
    page = charlie.get(f"/campaigns/{recalls.pk}/").content.decode()
    assert "Yan" in page and "Vera" not in page and "Bob&#x27;s VIPs" not in page and "bobs.csv" not in page
    export = charlie.get(f"/campaigns/{recalls.pk}/results.csv")
    rows = list(csv.DictReader(io.StringIO(b"".join(export.streaming_content).decode("utf-8-sig"))))
    assert [r["number"] for r in rows] == ["+13125550501"]


def test_charlies_session_is_no_good_on_bobs_host(bobs, world, logged_in):
    stranger = logged_in(world.charlie, BOB_HOST)
    for url in ["/campaigns/", *_reads(bobs)]:
        response = stranger.get(url)
        assert response.status_code == HTTPStatus.FOUND and "/accounts/login/" in response["Location"], url
    for url, data in _writes(bobs):
        response = stranger.post(url, data)
        assert response.status_code == HTTPStatus.FOUND and "/accounts/login/" in response["Location"], url
    _unchanged(bobs)


def test_an_agent_or_supervisor_is_no_portal_user(bobs, world, logged_in):
    for user in (world.ana, world.sam):
        other = logged_in(user, BOB_HOST)
        assert other.get(f"/campaigns/{bobs.campaign.pk}/").status_code == HTTPStatus.FOUND
        assert other.post(f"/campaigns/{bobs.campaign.pk}/start").status_code == HTTPStatus.FOUND
    _unchanged(bobs)


def test_bea_reads_bobs_campaigns_but_only_bob_changes_them(bobs, world, logged_in):
    bea = logged_in(world.bea, BOB_HOST)
    for url in _reads(bobs)[:-1]:  # the mapping is the upload's second step: a change
        assert bea.get(url).status_code == HTTPStatus.OK, url
    assert bea.get(f"/campaigns/imports/{bobs.job.pk}/mapping").status_code == HTTPStatus.FORBIDDEN
    for url, data in _writes(bobs):
        response = bea.post(url, data)
        assert response.status_code == HTTPStatus.FORBIDDEN, url
        assert "You can look, not change" in response.content.decode()
    _unchanged(bobs)
    bob = logged_in(world.bob, BOB_HOST)
    assert bob.post(f"/campaigns/{bobs.campaign.pk}/start").status_code == HTTPStatus.FOUND
    with schema_context("bobsplumbing"):
        bobs.campaign.refresh_from_db()
        assert bobs.campaign.state == Campaign.State.RUNNING
