"""Logging in with a real browser (Chromium) against the real ASGI server, on real *.localhost hosts."""

from __future__ import annotations

import pytest

from tests.conftest import BOB_HOST, CHARLIE_HOST, PASSWORD

pytestmark = [pytest.mark.django_db, pytest.mark.processes]


def test_a_client_admin_logs_in_on_their_host_and_is_a_stranger_on_anothers(world, asgi_server, browser):
    context = browser.new_context()
    page = context.new_page()
    bobs = f"http://{BOB_HOST}:{asgi_server}"
    page.goto(f"{bobs}/")
    assert page.url.startswith(f"{bobs}/accounts/login/")
    assert page.locator("h1").inner_text() == "Log in to Bob's Plumbing"

    # Keyboard only: email, tab, password, enter.
    page.locator("#id_username").fill("bob@bobs.test")
    page.keyboard.press("Tab")
    page.keyboard.type(PASSWORD)
    page.keyboard.press("Enter")
    page.wait_for_url(f"{bobs}/")
    assert page.locator("h1").inner_text() == "Messages"  # the portal's home: the client's inbox
    assert page.locator(".brand").inner_text().startswith("Bob's Plumbing")

    # The same browser, Charlie's host: not logged in there, even with Bob's cookie carried over.
    cookie = next(c for c in context.cookies() if c["name"] == "switchboard_session")
    context.add_cookies([{**cookie, "domain": CHARLIE_HOST}])
    page.goto(f"http://{CHARLIE_HOST}:{asgi_server}/")
    assert "/accounts/login/" in page.url
    assert page.locator("h1").inner_text() == "Log in to Charlie's Clinic"

    # And Bob's own credentials are refused there.
    page.locator("#id_username").fill("bob@bobs.test")
    page.locator("#id_password").fill(PASSWORD)
    page.locator("button[type=submit]").click()
    assert "Please enter a correct email and password" in page.locator(".errors").inner_text()

    # Back home, log out.
    page.goto(f"{bobs}/")
    page.get_by_role("button", name="Log out").click()
    page.wait_for_url(f"{bobs}/accounts/login/")
    page.goto(f"{bobs}/")
    assert "/accounts/login/" in page.url
    context.close()


def test_the_wrong_password_says_so_without_saying_which_part(world, asgi_server, browser):
    page = browser.new_page()
    page.goto(f"http://{BOB_HOST}:{asgi_server}/accounts/login/")
    page.locator("#id_username").fill("bob@bobs.test")
    page.locator("#id_password").fill("not the password")
    page.locator("button[type=submit]").click()
    assert "Please enter a correct email and password" in page.locator(".errors").inner_text()
    page.close()
