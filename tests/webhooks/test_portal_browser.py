"""The Webhooks pages in a real browser on a phone (375 px), against a real ASGI server and
Celery worker: Bob adds an endpoint with a long URL, copies its secret, a committed event reaches
the receiver through the worker and verifies with that secret, the delivery log shows it, and
"Send again" sends it again — and no page scrolls sideways."""

from __future__ import annotations

import re
from urllib.parse import quote

import pytest
from django.db import transaction
from django_tenants.utils import schema_context

from tests.conftest import BOB_HOST, PASSWORD, until
from tests.processes import ARTIFACTS
from webhooks import services
from webhooks.models import WebhookEndpoint

pytestmark = pytest.mark.processes
PHONE = {"width": 375, "height": 740}


@pytest.fixture
def no_endpoints_left(django_db_blocker):
    yield
    with django_db_blocker.unblock(), schema_context("bobsplumbing"):
        WebhookEndpoint.objects.all().delete()


def test_an_admin_adds_an_endpoint_on_a_phone_and_its_deliveries_show(
        world, asgi_server, celery_worker, browser, receiver, django_db_blocker, settings, no_endpoints_left):
    settings.OUTBOUND_ALLOW_PRIVATE = True
    base = f"http://{BOB_HOST}:{asgi_server}"
    url = receiver.url + "/a-rather-long-path/for-the-dispatch-board/integration/switchboard-events?token=abcdef0123456789"
    phone = browser.new_context(viewport=PHONE, is_mobile=True, has_touch=True)
    try:
        page = phone.new_page()
        page.goto(f"{base}/accounts/login/?next={quote('/webhooks/')}")
        page.locator("#id_username").fill("bob@bobs.test")
        page.locator("#id_password").fill(PASSWORD)
        page.keyboard.press("Enter")
        page.wait_for_url(f"{base}/webhooks/")
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        page.locator("#id_url").fill(url)
        page.locator("#id_description").fill("Dispatch board")
        page.get_by_label("A message was taken").check()
        page.get_by_role("button", name="Add endpoint").click()
        page.wait_for_url(re.compile(r".*/webhooks/\d+/$"))
        secret = page.locator("#webhook-secret").input_value()
        assert secret.startswith("whsec_")
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        ARTIFACTS.mkdir(exist_ok=True)
        page.screenshot(path=str(ARTIFACTS / "portal-webhook-secret-phone.png"), full_page=True)

        with django_db_blocker.unblock(), schema_context("bobsplumbing"):
            with transaction.atomic():
                event = services.event_emit("message.created", {"id": 1, "problem": "No heat"})
        [request] = until(lambda: receiver.received, "the worker's POST", timeout=20)
        assert request.verify(secret)["data"]["problem"] == "No heat"  # the secret the page showed

        def shows_succeeded() -> bool:
            page.reload()
            return "Succeeded" in page.locator("#delivery-log").inner_text()

        until(shows_succeeded, "the log shows the delivery succeeded", timeout=15, every=0.5)
        assert event.event_id in page.locator("#delivery-log").inner_text()
        assert page.locator("#webhook-secret").count() == 0  # shown once
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
        page.screenshot(path=str(ARTIFACTS / "portal-webhook-log-phone.png"), full_page=True)

        page.get_by_role("button", name="Send again").click()
        until(lambda: len(receiver.received) == 2, "sent again", timeout=20)
        assert receiver.received[1].headers["webhook-id"] == event.event_id
        page.goto(f"{base}/webhooks/")
        assert "Dispatch board" in page.locator("#endpoint-list").inner_text()
        assert page.evaluate("document.documentElement.scrollWidth") <= PHONE["width"]
    finally:
        phone.close()
