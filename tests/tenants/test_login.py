"""Logging in and out, per host: platform staff on the platform host, each client's people on theirs."""

from __future__ import annotations

import re
from http import HTTPStatus

import pytest
from django.conf import settings

from tests.conftest import BOB_HOST, CHARLIE_HOST, PASSWORD, PLATFORM_HOST, http

pytestmark = pytest.mark.django_db


def _login(host: str, email: str, password: str = PASSWORD):
    client = http(host)
    response = client.post("/accounts/login/", {"username": email, "password": password})
    return client, response


@pytest.mark.parametrize(("host", "email"), [
    (BOB_HOST, "bob@bobs.test"),
    (BOB_HOST, "BEA@bobs.test"),  # email is case-insensitive
    (CHARLIE_HOST, "charlie@charlies.test"),
    (PLATFORM_HOST, "alice@switchboard.test"),
    (PLATFORM_HOST, "ana@switchboard.test"),
])
def test_people_log_in_on_their_own_host(world, host, email):
    client, response = _login(host, email)
    assert response.status_code == HTTPStatus.FOUND
    assert client.get("/").status_code == HTTPStatus.OK


@pytest.mark.parametrize(("host", "email"), [
    (CHARLIE_HOST, "bob@bobs.test"),  # client A's admin on client B's host
    (PLATFORM_HOST, "bob@bobs.test"),  # a client's admin on the platform host
    (BOB_HOST, "alice@switchboard.test"),  # platform staff on a client's host
    (BOB_HOST, "ana@switchboard.test"),
])
def test_people_are_refused_on_other_hosts(world, host, email):
    client, response = _login(host, email)
    assert response.status_code == HTTPStatus.OK
    assert "Please enter a correct" in response.content.decode()
    assert client.get("/").status_code == HTTPStatus.FOUND  # still sent to the login page


def test_a_valid_session_cookie_is_worthless_on_another_clients_host(world):
    bobs, _ = _login(BOB_HOST, "bob@bobs.test")
    cookie = bobs.cookies[settings.SESSION_COOKIE_NAME].value
    assert bobs.get("/").status_code == HTTPStatus.OK

    charlies = http(CHARLIE_HOST)
    charlies.cookies[settings.SESSION_COOKIE_NAME] = cookie
    response = charlies.get("/")
    assert response.status_code == HTTPStatus.FOUND
    assert response["Location"].startswith("/accounts/login/")
    assert charlies.get("/admin/").status_code == HTTPStatus.FOUND

    platform = http(PLATFORM_HOST)
    platform.cookies[settings.SESSION_COOKIE_NAME] = cookie
    assert platform.get("/").status_code == HTTPStatus.FOUND
    assert platform.get("/admin/").status_code == HTTPStatus.FOUND


def test_the_portal_shows_the_hosts_client(world, logged_in):
    page = logged_in(world.bob, BOB_HOST).get("/").content.decode()
    assert "Bob&#x27;s Plumbing" in page
    assert "Charlie" not in page


def test_logout_ends_the_session(world):
    client, _ = _login(BOB_HOST, "bob@bobs.test")
    response = client.post("/accounts/logout/")
    assert response.status_code == HTTPStatus.FOUND
    assert client.get("/").status_code == HTTPStatus.FOUND


def test_unknown_hosts_get_404(world):
    assert http("nobody.localhost").get("/accounts/login/").status_code == HTTPStatus.NOT_FOUND


def test_password_reset_by_email_on_the_clients_host(world, mailoutbox):
    client = http(BOB_HOST)
    client.post("/accounts/password-reset/", {"email": "bea@bobs.test"})
    assert len(mailoutbox) == 1
    link = re.search(r"https?://[^\s]+", mailoutbox[0].body).group(0)
    assert link.startswith(f"http://{BOB_HOST}/accounts/reset/")
    path = link.split(BOB_HOST, 1)[1]
    form_page = client.get(path, follow=True)
    assert form_page.context["validlink"]
    response = client.post(form_page.redirect_chain[-1][0], {"new_password1": "a brand new pass 42",
                                                              "new_password2": "a brand new pass 42"})
    assert response.status_code == HTTPStatus.FOUND
    _, login = _login(BOB_HOST, "bea@bobs.test", "a brand new pass 42")
    assert login.status_code == HTTPStatus.FOUND


@pytest.mark.parametrize(("host", "email"), [
    (CHARLIE_HOST, "bea@bobs.test"),
    (PLATFORM_HOST, "bea@bobs.test"),
    (BOB_HOST, "ana@switchboard.test"),
    (BOB_HOST, "nobody@nowhere.test"),
])
def test_password_reset_sends_nothing_for_accounts_of_other_hosts(world, mailoutbox, host, email):
    response = http(host).post("/accounts/password-reset/", {"email": email})
    assert response.status_code == HTTPStatus.FOUND  # same answer either way: no account probing
    assert mailoutbox == []


def test_a_reset_link_does_not_work_on_another_host(world, mailoutbox):
    http(BOB_HOST).post("/accounts/password-reset/", {"email": "bea@bobs.test"})
    path = re.search(r"https?://[^/\s]+(/[^\s]+)", mailoutbox[0].body).group(1)
    page = http(CHARLIE_HOST).get(path, follow=True)
    assert page.context["validlink"] is False
