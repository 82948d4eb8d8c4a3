"""The DNC import with real processes: a Celery worker runs the upload's job in the client's
schema, and in Chromium the page's progress bar follows the job, then shows every refused line.

A client of its own, provisioned for this module and dropped afterwards: what the job commits
(DNC entries, append-only ledger rows) never reaches the other tests' clients."""

from __future__ import annotations

import json
from http import HTTPStatus

import pytest
from django.core.files.uploadedfile import SimpleUploadedFile
from django.db import connection
from django.test import Client as HttpClient
from django_tenants.utils import schema_context

from compliance.models import DncEntry, DncImport, LedgerEntry
from compliance.services import dnc_import_run
from tenants import services
from tenants.models import Client, Role, User
from tests.conftest import PASSWORD
from tests.conftest import until as _until
from tests.processes import TEST_QUEUE

pytestmark = pytest.mark.processes
SLUG = "dncimports"
HOST = f"{SLUG}.localhost"
EMAIL = f"dora@{SLUG}.test"
HELD_QUEUE = f"{TEST_QUEUE}-dnc-held"
# 1 200 numbers, CR-only line endings (as old Mac Excel writes them), a NUL and a bad row.
FILE = ("number,reason\r" + "".join(f"212555{n:04d},asked\r" for n in range(100, 200))
        + "".join(f"{code}5550{n:03d}\r" for code in (305, 415, 617, 702, 713, 718, 786, 813, 818, 917, 918)
                  for n in range(100, 200))
        + "banana\r3055550999,a\x00b\r")


@pytest.fixture(scope="module")
def dora(django_db_setup, django_db_blocker):
    """A client of this module's own with its admin, Dora (committed); dropped with its schema afterwards."""
    with django_db_blocker.unblock():
        client = services.client_provision(name="DNC Imports Inc", slug=SLUG, time_zone="America/New_York",
                                           domain=HOST)
        user = services.user_create(email=EMAIL, role=Role.CLIENT_ADMIN, password=PASSWORD, full_name="Dora Import",
                                    client=client)
    try:
        yield user
    finally:
        with django_db_blocker.unblock():
            connection.set_schema_to_public()
            User.objects.filter(pk=user.pk).delete()
            Client.objects.get(schema_name=SLUG).delete(force_drop=True)




def test_the_worker_imports_an_upload_in_the_clients_schema(dora, celery_worker, django_db_blocker):
    with django_db_blocker.unblock():
        http = HttpClient(HTTP_HOST=HOST)
        http.force_login(dora)
        response = http.post("/compliance/dnc/import/", {"file": SimpleUploadedFile("mac.csv", FILE.encode())})
        assert response.status_code == HTTPStatus.FOUND
        progress_url = response["Location"] + "progress"

        def finished():
            state = json.loads(http.get(progress_url).content)
            return state if state["finished"] else None

        state = _until(finished, what="the worker to finish the import")
        assert (state["status"], state["added"], state["already"], state["errors"]) == ("done", 1200, 0, 2)
        assert state["lines_total"] == 1203
        with schema_context(SLUG):
            job = DncImport.objects.get(pk=state["id"])
            assert [(e["line"], e["field"]) for e in job.errors] == [(1202, "number"), (1203, "reason")]
            assert DncEntry.objects.filter(removed_at__isnull=True, source="csv_import", added_by=EMAIL).count() == 1200
            assert LedgerEntry.objects.filter(event="opt_out", asked_by=EMAIL).count() == 1200
        with schema_context("bobsplumbing"):
            assert not DncImport.objects.filter(filename="mac.csv").exists()  # nothing outside Dora's schema
        page = http.get(response["Location"]).content.decode()
        assert "Done: 1,200 added" in page and "<td>1202</td><td>number</td>" in page


def test_the_progress_bar_follows_the_job_in_a_browser(dora, asgi_server, browser, django_db_blocker):
    """The job is held (no worker listens to its queue), so the page shows it waiting; the test
    moves it on by hand, and the page's script follows without a reload, then reloads once done."""
    from switchboard.celery import app
    from switchboard.redis_clients import redis_client

    previous_queue, app.conf.task_default_queue = app.conf.task_default_queue, HELD_QUEUE
    base = f"http://{HOST}:{asgi_server}"
    context = browser.new_context(viewport={"width": 1280, "height": 860})
    try:
        page = context.new_page()
        # The import's own requests (the page, its script, the progress it polls) all succeed.
        failed: list[str] = []
        page.on("response", lambda r: r.status >= 400 and ("/compliance/" in r.url or "/static/" in r.url)
                and failed.append(f"{r.status} {r.url}"))
        page.goto(f"{base}/accounts/login/?next=/compliance/dnc/")
        page.locator("#id_username").fill(EMAIL)
        page.locator("#id_password").fill(PASSWORD)
        page.keyboard.press("Enter")
        page.wait_for_url(f"{base}/compliance/dnc/")
        # The upload is sent by this process (the view runs here, sending to the held queue);
        # the browser opens the import's page the view redirected to.
        with django_db_blocker.unblock():
            http = HttpClient(HTTP_HOST=HOST)
            http.force_login(dora)
            job_url = http.post("/compliance/dnc/import/",
                                {"file": SimpleUploadedFile("held.csv", b"2125550300\r2125550301\rbanana\r")})["Location"]
            job_id = int(job_url.rstrip("/").rsplit("/", 1)[1])
        page.goto(f"{base}{job_url}")
        page.evaluate("window.__notReloaded = true")
        assert "Waiting for a worker" in page.locator("[data-progress-text]").inner_text()

        with django_db_blocker.unblock(), schema_context(SLUG):
            DncImport.objects.filter(pk=job_id).update(status="parsing", rows_total=10, rows_done=4)
        # Polled from here: wait_for_function would eval a string, which the pages' CSP forbids.
        _until(lambda: page.evaluate("document.querySelector('[data-progress-bar]').value") == 40, timeout=10,
               what="the bar at 40 %")
        assert page.locator("[data-progress-text]").inner_text() == "Checking line 4 of 10…"
        assert page.evaluate("window.__notReloaded") is True  # followed by the script, not a reload

        with django_db_blocker.unblock(), schema_context(SLUG):
            DncImport.objects.filter(pk=job_id).update(status="queued")
            assert dnc_import_run(import_id=job_id).status == "done"
        page.locator("table").wait_for(timeout=10000)  # reloaded: the outcome and the refused line
        assert page.locator("[data-progress-text]").inner_text().startswith("Done: 2 added")
        assert "banana" in page.locator("table").inner_text()
        assert page.evaluate("window.__notReloaded") is None
        assert not failed, failed
    finally:
        context.close()
        app.conf.task_default_queue = previous_queue
        redis_client(timeout=5).delete(HELD_QUEUE)
