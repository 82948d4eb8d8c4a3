"""A list upload in a real browser (Chromium), with a real Celery worker and ASGI server: Bob
uploads a CSV on his campaign's page, checks the column mapping the import guessed, starts the
import, watches the progress bar move without a reload, and sees the refused lines once done.

The worker is held just before it writes (the test locks the list's row, so the worker's insert
waits on it), so the page is seen live mid-import, whatever the machine's speed; released, the
worker finishes and the page shows the outcome."""

from __future__ import annotations

import threading
import uuid

import pytest
from django.db import connection, transaction
from django_tenants.utils import schema_context

from campaigns.models import Campaign, Contact, ContactImport, ContactList
from campaigns.services import lifecycle
from compliance.rules import Purpose
from tests.conftest import BOB_HOST, PASSWORD
from tests.processes import ARTIFACTS

pytestmark = pytest.mark.processes
PHONE = {"width": 390, "height": 844}
GOOD = 40
FILE = ("Phone,First Name,E-mail,Plan\r\n"
        + "".join(f"(646) 555-{n:04d},Person {n},p{n}@example.com,Gold\r\n" for n in range(1000, 1000 + GOOD))
        + "banana,Nobody,,Silver\r\n"
        + "6465559999,Bad Mail,not-an-email,Gold\r\n").encode()


@pytest.fixture
def committed_campaign(world, django_db_blocker):
    """Bob's campaign, committed so the server and the worker see it; removed afterwards."""
    with django_db_blocker.unblock(), schema_context("bobsplumbing"):
        campaign = lifecycle.campaign_create(name=f"Browser {uuid.uuid4().hex[:6]}", purpose=Purpose.TELEMARKETING)
    yield campaign
    with django_db_blocker.unblock(), schema_context("bobsplumbing"):
        Campaign.objects.filter(pk=campaign.pk).delete()  # its lists, contacts and imports with it




class ListLock:
    """Holds the list's row FOR UPDATE from a thread (its own connection and transaction): the
    worker's insert of the contacts, whose foreign key needs a share of that row, waits."""

    def __init__(self, django_db_blocker, list_id: int):
        self.held, self.release = threading.Event(), threading.Event()
        self.thread = threading.Thread(target=self._hold, args=(django_db_blocker, list_id))

    def _hold(self, django_db_blocker, list_id: int) -> None:
        with django_db_blocker.unblock():
            try:
                with schema_context("bobsplumbing"), transaction.atomic():
                    ContactList.objects.select_for_update().get(pk=list_id)
                    self.held.set()
                    self.release.wait(60)
            finally:
                connection.close()

    def __enter__(self):
        self.thread.start()
        assert self.held.wait(10)
        return self

    def __exit__(self, *exc):
        self.release.set()
        self.thread.join(10)


def test_an_uploaded_list_is_imported_with_a_live_bar_and_its_refused_lines(
        world, committed_campaign, asgi_server, celery_worker, browser, django_db_blocker):
    base = f"http://{BOB_HOST}:{asgi_server}"
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        page = context.new_page()
        failed: list[str] = []
        page.on("response", lambda r: r.status >= 400 and ("/campaigns/" in r.url or "/static/" in r.url)
                and failed.append(f"{r.status} {r.url}"))
        polls: list[int] = []  # the bar's requests (their bodies are gone once the page reloads)
        page.on("response", lambda r: r.url.endswith("/progress") and polls.append(r.status))
        page.goto(f"{base}/accounts/login/?next=/campaigns/")
        page.locator("#id_username").fill("bob@bobs.test")
        page.locator("#id_password").fill(PASSWORD)
        page.keyboard.press("Enter")
        page.wait_for_url(f"{base}/campaigns/")
        page.locator(f'tr[data-campaign="{committed_campaign.pk}"] a.row-link').click()
        page.wait_for_url(f"{base}/campaigns/{committed_campaign.pk}/")

        page.locator("#id_file").set_input_files({"name": "spring.csv", "mimeType": "text/csv", "buffer": FILE})
        page.locator("#id_name").fill("Spring leads")
        page.locator("#id_priority").fill("3")
        page.locator("#upload-button").click()
        page.wait_for_url(f"{base}/campaigns/imports/*/mapping")
        # The guess, pre-filled: the phone, the first name, the e-mail, a custom field for the plan.
        selects = page.locator("#mapping select")
        assert [selects.nth(i).input_value() for i in range(4)] == ["number", "first_name", "email", "field:plan"]
        with django_db_blocker.unblock(), schema_context("bobsplumbing"):
            job = ContactImport.objects.get(list__campaign_id=committed_campaign.pk)
            assert job.list.name == "Spring leads" and job.list.priority == 3

        with ListLock(django_db_blocker, job.list_id):
            page.locator("#import-button").click()
            page.wait_for_url(f"{base}/campaigns/imports/{job.pk}/")
            page.evaluate("window.__notReloaded = true")
            # The worker checked every line and waits to write: the bar follows it, live.
            try:
                page.locator("[data-progress-text]").filter(has_text="adding the contacts").wait_for(timeout=60000)
            except Exception as exc:  # say where it stood: the page's words and the job's row
                with django_db_blocker.unblock(), schema_context("bobsplumbing"):
                    row = ContactImport.objects.filter(pk=job.pk).values("status", "rows_done", "failure").first()
                raise AssertionError(f"the bar never said the worker was writing: the page says "
                                     f"{page.locator('[data-progress-text]').inner_text()!r}, {len(polls)} polls, "
                                     f"the job {row}") from exc
            assert page.evaluate("window.__notReloaded") is True and polls  # moved by the script's polls
            assert page.evaluate("document.querySelector('[data-progress-bar]').value") == 100
            with django_db_blocker.unblock(), schema_context("bobsplumbing"):
                assert ContactImport.objects.get(pk=job.pk).status == ContactImport.Status.WRITING
            ARTIFACTS.mkdir(exist_ok=True)
            page.screenshot(path=str(ARTIFACTS / "campaign-import-live.png"), full_page=True)

        # Released: the worker writes, the bar's last poll says done, the page reloads with the report.
        page.locator("#import-errors").wait_for(timeout=30000)
        assert page.evaluate("window.__notReloaded") is None
        assert set(polls) == {200}
        assert page.locator("[data-progress-text]").inner_text().startswith(f"Done: {GOOD} added")
        report = page.locator("#import-errors tbody tr")
        assert report.count() == 2
        assert report.nth(0).inner_text().split("\t")[:2] == [str(GOOD + 2), "number"]
        assert report.nth(1).inner_text().split("\t")[:2] == [str(GOOD + 3), "email"]
        page.screenshot(path=str(ARTIFACTS / "campaign-import-done.png"), full_page=True)
        with django_db_blocker.unblock(), schema_context("bobsplumbing"):
            assert Contact.objects.filter(list_id=job.list_id).count() == GOOD
            assert Contact.objects.get(number="+16465551000").fields == {"plan": "Gold"}

        # The campaign's page, on a phone: the new list, its contacts as cards, the menu folded.
        phone = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
        try:
            mobile = phone.new_page()
            mobile.goto(f"{base}/accounts/login/?next=/campaigns/{committed_campaign.pk}/")
            mobile.locator("#id_username").fill("bob@bobs.test")
            mobile.locator("#id_password").fill(PASSWORD)
            mobile.keyboard.press("Enter")
            mobile.wait_for_url(f"{base}/campaigns/{committed_campaign.pk}/")
            assert "Spring leads" in mobile.locator("#lists").inner_text()
            assert mobile.locator("#results thead").is_hidden() and mobile.locator(".portal-nav").is_hidden()
            assert mobile.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
            mobile.screenshot(path=str(ARTIFACTS / "campaign-phone.png"))  # the first screen
        finally:
            phone.close()
        assert not failed, failed
    finally:
        context.close()
