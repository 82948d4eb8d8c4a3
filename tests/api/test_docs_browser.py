"""The API's documentation page and the portal's keys page in Chromium: the docs show every
operation with nothing fetched from another host and nothing refused by the CSP; the keys page
works on a phone (375 px: the new key and its curl line wrap, nothing scrolls sideways)."""

from __future__ import annotations

from urllib.parse import urlsplit

import pytest

from tests.conftest import BOB_HOST, PASSWORD

pytestmark = pytest.mark.processes


def _watch(page, host: str) -> tuple[list[str], list[str]]:
    elsewhere: list[str] = []
    refused: list[str] = []
    page.on("request", lambda r: urlsplit(r.url).hostname not in (host, None) and not r.url.startswith("data:")
            and elsewhere.append(r.url))
    page.on("console", lambda m: refused.append(m.text) if "Content Security Policy" in m.text else None)
    page.on("pageerror", lambda error: refused.append(str(error)))
    return elsewhere, refused


def test_the_docs_page_shows_every_operation_from_this_host_alone(world, asgi_server, browser):
    base = f"http://{BOB_HOST}:{asgi_server}"
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    try:
        page = context.new_page()
        elsewhere, refused = _watch(page, BOB_HOST)
        page.goto(f"{base}/api/docs/")
        page.locator(".opblock").first.wait_for(timeout=20000)
        summaries = page.locator(".opblock-summary-path").all_inner_texts()
        assert len(summaries) >= 18, summaries
        assert any("/api/v1/messages/{id}/acknowledge" in s.replace("\u200b", "") for s in summaries)
        assert not elsewhere, elsewhere
        assert not refused, refused
    finally:
        context.close()


def test_the_keys_page_on_a_phone(world, asgi_server, browser, django_db_blocker):
    base = f"http://{BOB_HOST}:{asgi_server}"
    context = browser.new_context(viewport={"width": 375, "height": 800})
    try:
        page = context.new_page()
        elsewhere, refused = _watch(page, BOB_HOST)
        page.goto(f"{base}/accounts/login/?next=/api-keys/")
        page.locator("#id_username").fill("bob@bobs.test")
        page.locator("#id_password").fill(PASSWORD)
        page.keyboard.press("Enter")
        page.wait_for_url(f"{base}/api-keys/")
        page.locator("#id_name").fill("Phone test key")
        page.get_by_label("Messages: read").check()
        page.get_by_role("button", name="Create key").click()
        plain = page.locator("[data-plain-key]").inner_text()
        assert plain.startswith("sb_") and len(plain) == 51
        wide = page.evaluate("""[...document.querySelectorAll('body *')].filter(e => e.getBoundingClientRect().right > 376)
                                .map(e => e.tagName + '.' + e.className + ' ' + (e.textContent || '').slice(0, 40))""")
        assert page.evaluate("document.documentElement.scrollWidth") <= 375, wide
        assert not elsewhere and not refused, (elsewhere, refused)
        # The key was committed by the server: revoke it from the page, leaving nothing usable behind.
        page.locator("tr", has_text="Phone test key").get_by_role("button", name="Revoke").click()
        page.get_by_text("revoked: it stops working at once").wait_for()
    finally:
        context.close()
        from api.models import ApiKey

        with django_db_blocker.unblock():
            ApiKey.objects.filter(name="Phone test key").delete()
