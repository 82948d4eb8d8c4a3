"""The platform admin's billing run with real processes: a Celery worker runs it over the
clients, and in Chromium the run's page follows it with a live progress bar, then lists every
client's statement. A client of this module's own, with committed calls and a plan, dropped
afterwards: nothing reaches the other tests' clients."""

from __future__ import annotations

import json
from datetime import datetime
from decimal import Decimal
from http import HTTPStatus

import pytest
from django.db import connection
from django.test import Client as HttpClient
from django_tenants.utils import schema_context

from billing.models import Statement
from billing.platform.models import BillingPlan, BillingRun, PlanAssignment
from billing.services import billing_run_execute
from tenants import services
from tenants.models import Client
from tests.billing.conftest import NEW_YORK, record
from tests.conftest import PASSWORD, PLATFORM_HOST
from tests.conftest import until as _until
from tests.processes import TEST_QUEUE

pytestmark = pytest.mark.processes
SLUG = "billingrun"
HELD_QUEUE = f"{TEST_QUEUE}-billing-held"


@pytest.fixture(scope="module")
def billed(django_db_setup, django_db_blocker):
    """A client with a per-second plan and two November calls (115 s → 1.73, 61 s → 0.92), committed."""
    with django_db_blocker.unblock():
        client = services.client_provision(name="Billing Run Co", slug=SLUG, time_zone="America/New_York",
                                           domain=f"{SLUG}.localhost")
        plan = BillingPlan.objects.create(name="Live per second", increment_seconds=1, minute_rate=Decimal("0.90"))
        PlanAssignment.objects.create(client=client, plan=plan)
        for day, (talk, wrap) in enumerate([(95, 20), (61, 0)], start=2):
            record(SLUG, datetime(2026, 11, day, 9, 0, tzinfo=NEW_YORK), talk=talk, wrap=wrap)
    try:
        yield client
    finally:
        with django_db_blocker.unblock():
            connection.set_schema_to_public()
            BillingRun.objects.all().delete()
            Client.objects.get(schema_name=SLUG).delete(force_drop=True)
            plan.delete()


def _admin(world) -> HttpClient:
    http = HttpClient(HTTP_HOST=PLATFORM_HOST)
    http.force_login(world.alice)
    return http


def test_the_worker_runs_billing_over_the_clients(world, billed, celery_worker, django_db_blocker):
    with django_db_blocker.unblock():
        http = _admin(world)
        refused = http.post("/admin/billing_platform/billingrun/run/", {"period": "2026-13"})
        assert refused.status_code == HTTPStatus.OK and "is not a month: write it YYYY-MM" in refused.content.decode()
        response = http.post("/admin/billing_platform/billingrun/run/", {"period": "2026-11"})
        assert response.status_code == HTTPStatus.FOUND
        run_url = response["Location"]
        run_id = int(run_url.rstrip("/").split("/")[-2])

        def finished():
            state = json.loads(http.get(f"/admin/billing_platform/billingrun/{run_id}/progress/").content)
            return state if state["finished"] else None

        state = _until(finished, what="the worker to finish the billing run")
        assert (state["done"], state["total"], state["percent"]) == (1, 1, 100)
        run = BillingRun.objects.get(pk=run_id)
        assert [(r["client"], r["status"], r["total"], r["items"]) for r in run.results] == [
            (SLUG, "built", "2.65", 2)]
        with schema_context(SLUG):
            assert Statement.objects.get(period="2026-11").total == Decimal("2.65")
        with schema_context("bobsplumbing"):
            assert not Statement.objects.exists()  # Bob has no plan: not billed, nothing written
        page = http.get(run_url).content.decode()
        assert "Done: 1 of 1 clients billed for 2026-11." in page and "Billing Run Co" in page


def test_the_progress_bar_follows_the_run_in_a_browser(world, billed, asgi_server, browser, django_db_blocker):
    """The run is held (no worker listens to its queue); the test moves it on by hand, and the
    page's script follows without a reload, then reloads once it is done."""
    from switchboard.celery import app
    from switchboard.redis_clients import redis_client

    previous_queue, app.conf.task_default_queue = app.conf.task_default_queue, HELD_QUEUE
    base = f"http://{PLATFORM_HOST}:{asgi_server}"
    context = browser.new_context(viewport={"width": 375, "height": 800})
    try:
        page = context.new_page()
        failed: list[str] = []
        page.on("response", lambda r: r.status >= 400 and failed.append(f"{r.status} {r.url}"))
        page.goto(f"{base}/accounts/login/?next=/admin/billing_platform/billingrun/run/")
        page.locator("#id_username").fill(world.alice.email)
        page.locator("#id_password").fill(PASSWORD)
        page.keyboard.press("Enter")
        page.wait_for_url(f"{base}/admin/billing_platform/billingrun/run/")
        assert page.locator("#id_period").is_visible()
        # The run is started by this process (its view sends to the held queue; the server's
        # would reach the session's worker); the browser opens the run's page it redirected to.
        with django_db_blocker.unblock():
            run_url = _admin(world).post("/admin/billing_platform/billingrun/run/", {"period": "2026-11"})["Location"]
        run_id = int(run_url.rstrip("/").split("/")[-2])
        page.goto(f"{base}{run_url}")
        page.evaluate("window.__notReloaded = true")
        assert "Waiting for a worker" in page.locator("[data-progress-text]").inner_text()

        with django_db_blocker.unblock():
            BillingRun.objects.filter(pk=run_id).update(status="running", done=1, total=4)
        _until(lambda: page.evaluate("document.querySelector('[data-progress-bar]').value") == 25, timeout=10,
               what="the bar at 25 %")
        assert page.locator("[data-progress-text]").inner_text() == "Billing 2026-11: 1 of 4 clients…"
        assert page.evaluate("window.__notReloaded") is True

        with django_db_blocker.unblock():
            BillingRun.objects.filter(pk=run_id).update(status="queued", done=0, total=0)
            assert billing_run_execute(run_id=run_id).status == "done"
        page.locator("#statements").wait_for(timeout=10000)
        assert page.locator("[data-progress-text]").inner_text().startswith("Done: 1 of 1 clients")
        assert "2.65" in page.locator("#statements").inner_text()
        assert page.evaluate("window.__notReloaded") is None
        assert not failed, failed
    finally:
        context.close()
        app.conf.task_default_queue = previous_queue
        redis_client(timeout=5).delete(HELD_QUEUE)
