"""The Content-Security-Policy in a real browser (Chromium): every kind of page works under it.

tests/switchboard/test_security_headers.py checks each page's header and that no template
writes inline script or style; this checks what only a browser can: that nothing a page
loads or runs is refused (Chromium reports each refusal on the console), that the live
pages still open their sockets, and that a script injected inline would not run.
"""

from __future__ import annotations

import pytest

from tests.conftest import BOB_HOST, PASSWORD, PLATFORM_HOST

pytestmark = pytest.mark.processes

# (email, host, pages): each role's pages, the live ones with what shows their socket is open.
JOURNEYS = [
    ("alice@switchboard.test", PLATFORM_HOST, ["/admin/", "/admin/tenants/client/", "/admin/tenants/user/add/",
                                              "/clients/bobsplumbing/admin/",
                                              "/clients/bobsplumbing/admin/compliance/ledgerentry/"]),
    ("bob@bobs.test", BOB_HOST, ["/admin/", "/admin/answering/script/add/", "/admin/compliance/ledgerentry/check/"]),
    ("bea@bobs.test", BOB_HOST, ["/messages/", "/calls/", "/oncall/", "/policies/", "/compliance/dnc/",
                                 "/compliance/ledger/"]),
]
LIVE = [
    ("ben@switchboard.test", PLATFORM_HOST, "/console/", "#status[data-status=offline]"),
    ("sam@switchboard.test", PLATFORM_HOST, "/wallboard/", "#wallboard tbody tr[data-client]"),
    ("bea@bobs.test", BOB_HOST, "/messages/", "html[data-live=connected]"),
]


def _refusals(page) -> list[str]:
    found: list[str] = []
    page.on("console", lambda m: found.append(m.text) if "Content Security Policy" in m.text else None)
    page.on("pageerror", lambda error: found.append(str(error)))
    return found


def _log_in(context, base: str, email: str, first: str):
    page = context.new_page()
    refused = _refusals(page)
    page.goto(f"{base}/accounts/login/?next={first}")
    page.locator("#id_username").fill(email)
    page.locator("#id_password").fill(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(f"{base}{first}")
    return page, refused


@pytest.mark.parametrize(("email", "host", "paths"), JOURNEYS, ids=[j[0].split("@")[0] for j in JOURNEYS])
def test_no_page_has_anything_refused(world, asgi_server, browser, email, host, paths):
    base = f"http://{host}:{asgi_server}"
    context = browser.new_context()
    try:
        page, refused = _log_in(context, base, email, paths[0])
        for path in paths:
            page.goto(f"{base}{path}")
            page.wait_for_load_state("load")
            # The page is styled by its own stylesheets (a refused one would leave it bare).
            assert page.evaluate("document.styleSheets.length") >= 1, path
        assert refused == []
    finally:
        context.close()


@pytest.mark.parametrize(("email", "host", "path", "live"), LIVE, ids=[p for _, _, p, _ in LIVE])
def test_the_live_pages_open_their_sockets_under_the_policy(world, asgi_server, browser, email, host, path, live):
    base = f"http://{host}:{asgi_server}"
    context = browser.new_context()
    try:
        page, refused = _log_in(context, base, email, path)
        page.locator(live).first.wait_for(state="attached", timeout=10000)
        assert refused == []
    finally:
        context.close()


def test_an_injected_inline_script_does_not_run(world, asgi_server, browser):
    base = f"http://{PLATFORM_HOST}:{asgi_server}"
    context = browser.new_context()
    try:
        page = context.new_page()
        refused = _refusals(page)
        page.goto(f"{base}/accounts/login/")
        # What an unescaped caller name would do: a script element written into the page.
        page.evaluate("""() => { const s = document.createElement('script');
            s.textContent = 'window.__injected = true'; document.body.appendChild(s); }""")
        assert page.evaluate("window.__injected") is None
        assert any("script-src 'self'" in text for text in refused)
    finally:
        context.close()
