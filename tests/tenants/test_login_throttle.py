"""Brute force on the login pages and floods of reset emails are slowed down, by account and by address.

The counters live in Redis (tenants/throttle.py), so every web process sees the same ones.
"""

from __future__ import annotations

import logging
import re
import time
import urllib.parse
import urllib.request
from http import HTTPStatus
from http.cookiejar import CookieJar

import pytest
import redis
from django.conf import settings
from django.test import override_settings

from tenants import throttle
from tests.conftest import BOB_HOST, CHARLIE_HOST, PASSWORD, PLATFORM_HOST, http

pytestmark = pytest.mark.django_db

LOCKED = "Too many failed attempts; try again in"
WRONG = "correct email and password"  # the host's form says "a correct", the admin's "the correct"


def _post_login(client, email: str, password: str, path: str = "/accounts/login/", **extra):
    return client.post(path, {"username": email, "password": password}, **extra)


def _logged_in(response) -> bool:
    return response.status_code == HTTPStatus.FOUND


# Who logs in where, and through which form: the host's own login page for everyone, and the
# platform admin's /admin/login/ (Django's admin login, a separate view with its own form).
LOGINS = [
    pytest.param(BOB_HOST, "bea@bobs.test", "/accounts/login/", id="client user"),
    pytest.param(PLATFORM_HOST, "ana@switchboard.test", "/accounts/login/", id="agent"),
    pytest.param(PLATFORM_HOST, "alice@switchboard.test", "/accounts/login/", id="platform admin"),
    pytest.param(PLATFORM_HOST, "alice@switchboard.test", "/admin/login/", id="platform admin at /admin/"),
]


@pytest.mark.parametrize(("host", "email", "path"), LOGINS)
def test_fifty_wrong_passwords_lock_the_account_even_for_the_right_one(world, host, email, path, caplog):
    client = http(host)
    answers = [_post_login(client, email, f"guess {n}", path) for n in range(50)]
    assert not any(_logged_in(answer) for answer in answers)
    # The first failures say "wrong"; from the limit on, every answer says "locked".
    limit = settings.LOGIN_FAILURES_PER_ACCOUNT
    assert all(WRONG in a.content.decode() for a in answers[:limit - 1])
    assert all(LOCKED in a.content.decode() for a in answers[limit - 1:])

    caplog.set_level(logging.INFO, logger="tenants.throttle")
    right = _post_login(client, email, PASSWORD, path)
    assert not _logged_in(right)
    page = right.content.decode()
    minutes = re.search(r"try again in (\d+) minutes?", page)
    assert minutes and 1 <= int(minutes[1]) <= settings.LOGIN_LOCKOUT_SECONDS // 60
    assert client.get("/").status_code == HTTPStatus.FOUND  # still not logged in

    # A log line names the account and the address, never the password.
    refusal = [r.getMessage() for r in caplog.records if "locked" in r.getMessage()]
    assert refusal and email in refusal[-1] and "127.0.0.1" in refusal[-1]
    assert not any(PASSWORD in r.getMessage() for r in caplog.records)


def test_the_lock_is_per_account_not_per_host_and_the_same_for_unknown_accounts(world):
    for n in range(settings.LOGIN_FAILURES_PER_ACCOUNT):
        last = _post_login(http(CHARLIE_HOST), "bob@bobs.test", f"guess {n}")
    assert LOCKED in last.content.decode()
    # Bob is locked on his own host too, with his right password.
    assert LOCKED in _post_login(http(BOB_HOST), "BOB@bobs.test", PASSWORD).content.decode()
    # Someone else on the same address is not (the address has a higher limit).
    assert _logged_in(_post_login(http(BOB_HOST), "bea@bobs.test", PASSWORD))

    # An account that does not exist answers exactly as one that does: no account probing.
    for n in range(settings.LOGIN_FAILURES_PER_ACCOUNT):
        unknown = _post_login(http(BOB_HOST), "nobody@bobs.test", f"guess {n}")
    assert LOCKED in unknown.content.decode()


def test_a_successful_login_resets_the_accounts_counter(world):
    client = http(BOB_HOST)
    for _ in range(3):
        for n in range(settings.LOGIN_FAILURES_PER_ACCOUNT - 1):
            assert WRONG in _post_login(client, "bea@bobs.test", f"guess {n}").content.decode()
        assert _logged_in(_post_login(http(BOB_HOST), "bea@bobs.test", PASSWORD))


@override_settings(LOGIN_FAILURES_PER_ADDRESS=8)
def test_many_accounts_tried_from_one_address_lock_the_address(world):
    client = http(PLATFORM_HOST)
    emails = [f"user{n}@switchboard.test" for n in range(8)]
    answers = [_post_login(client, email, "guess") for email in emails]
    assert all(WRONG in a.content.decode() for a in answers[:-1])
    assert LOCKED in answers[-1].content.decode()
    # Now even a real account with its right password is refused from that address...
    assert LOCKED in _post_login(client, "ana@switchboard.test", PASSWORD).content.decode()
    # ...but not from another address.
    assert _logged_in(_post_login(http(PLATFORM_HOST), "ana@switchboard.test", PASSWORD, REMOTE_ADDR="10.1.2.3"))


@override_settings(LOGIN_LOCKOUT_SECONDS=1, LOGIN_LOCKOUT_MAX_SECONDS=60)
def test_after_the_lock_expires_the_right_password_works_and_the_next_lock_is_longer(world):
    client = http(BOB_HOST)
    for n in range(settings.LOGIN_FAILURES_PER_ACCOUNT):
        _post_login(client, "bea@bobs.test", f"guess {n}")
    assert LOCKED in _post_login(client, "bea@bobs.test", PASSWORD).content.decode()
    time.sleep(1.2)
    assert _logged_in(_post_login(http(BOB_HOST), "bea@bobs.test", PASSWORD))

    # Without a success in between, each lock within a day lasts twice the one before.
    client = http(BOB_HOST)
    for lock in (1, 2, 4):
        for n in range(settings.LOGIN_FAILURES_PER_ACCOUNT):
            _post_login(client, "bob@bobs.test", f"guess {n}")
        assert throttle.login_lock_remaining(username="bob@bobs.test", address="10.9.9.9") == lock
        if lock < 4:
            time.sleep(lock + 0.2)


def test_the_counters_live_in_redis_where_every_process_sees_them(world):
    for n in range(settings.LOGIN_FAILURES_PER_ACCOUNT):
        _post_login(http(BOB_HOST), "bea@bobs.test", f"guess {n}")
    # A connection of its own, as another web process would open: it sees the lock.
    other = redis.Redis.from_url(settings.REDIS_URL)
    try:
        locks = [key for key in other.scan_iter(match=f"{throttle.PREFIX}*") if key.endswith(b":lock")]
        assert locks and all(0 < other.ttl(key) <= settings.LOGIN_LOCKOUT_SECONDS for key in locks)
    finally:
        other.close()


@pytest.mark.processes
def test_failures_in_another_process_lock_the_account_here(world, asgi_server):
    """Guess in the real ASGI server (its own OS process), then log in through this one."""
    server = _ServerLogin(asgi_server, BOB_HOST)
    for n in range(settings.LOGIN_FAILURES_PER_ACCOUNT):
        page = server.login("bea@bobs.test", f"guess {n}")
    assert LOCKED in page
    assert LOCKED in _post_login(http(BOB_HOST), "bea@bobs.test", PASSWORD).content.decode()


class _ServerLogin:
    """The login form over real HTTP: a GET for the CSRF cookie, then the POST."""

    def __init__(self, port: int, host: str):
        self.url = f"http://127.0.0.1:{port}/accounts/login/"
        self.host = host
        self.jar = CookieJar()
        self.opener = urllib.request.build_opener(urllib.request.HTTPCookieProcessor(self.jar))

    def login(self, email: str, password: str) -> str:
        self.opener.open(urllib.request.Request(self.url, headers={"Host": self.host}), timeout=10).read()
        token = next(c.value for c in self.jar if c.name == settings.CSRF_COOKIE_NAME)
        body = urllib.parse.urlencode({"username": email, "password": password, "csrfmiddlewaretoken": token})
        request = urllib.request.Request(self.url, data=body.encode(), headers={"Host": self.host, "Referer": self.url})
        with self.opener.open(request, timeout=10) as response:
            return response.read().decode()


def test_the_address_is_the_connections_unless_proxies_are_configured(rf):
    request = rf.get("/", REMOTE_ADDR="10.0.0.5", HTTP_X_FORWARDED_FOR="6.6.6.6, 203.0.113.7")
    assert throttle.client_address(request) == "10.0.0.5"  # a forged header changes nothing
    with override_settings(CLIENT_IP_PROXY_COUNT=1):
        assert throttle.client_address(request) == "203.0.113.7"  # the address our proxy saw
    with override_settings(CLIENT_IP_PROXY_COUNT=2):
        assert throttle.client_address(request) == "6.6.6.6"
    with override_settings(CLIENT_IP_PROXY_COUNT=3):  # fewer hops than proxies: the header is not trusted
        assert throttle.client_address(request) == "10.0.0.5"
    garbled = rf.get("/", REMOTE_ADDR="10.0.0.5", HTTP_X_FORWARDED_FOR="x" * 5000)
    with override_settings(CLIENT_IP_PROXY_COUNT=1):  # not an address: not a key of its own
        assert throttle.client_address(garbled) == "10.0.0.5"


def test_ten_reset_requests_send_at_most_the_allowed_emails(world, mailoutbox, caplog):
    caplog.set_level(logging.INFO, logger="tenants.throttle")
    answers = [http(BOB_HOST).post("/accounts/password-reset/", {"email": "bea@bobs.test"}) for _ in range(10)]
    assert len(mailoutbox) == 1  # at most one per PASSWORD_RESET_INTERVAL_SECONDS
    # The same neutral answer every time: nothing tells whether an email went.
    assert {(a.status_code, a["Location"]) for a in answers} == {(HTTPStatus.FOUND, "/accounts/password-reset/sent/")}
    assert any("password reset withheld" in r.getMessage() and "127.0.0.1" in r.getMessage() for r in caplog.records)


@override_settings(PASSWORD_RESET_INTERVAL_SECONDS=0)
def test_reset_emails_are_capped_per_hour_per_account_and_per_address(world, mailoutbox):
    for _ in range(10):
        http(BOB_HOST).post("/accounts/password-reset/", {"email": "bea@bobs.test"})
    assert len(mailoutbox) == settings.PASSWORD_RESET_EMAILS_PER_HOUR
    mailoutbox.clear()
    with override_settings(PASSWORD_RESET_EMAILS_PER_ADDRESS_PER_HOUR=settings.PASSWORD_RESET_EMAILS_PER_HOUR + 1):
        http(BOB_HOST).post("/accounts/password-reset/", {"email": "bob@bobs.test"})  # the address's last one
        http(BOB_HOST).post("/accounts/password-reset/", {"email": "bob@bobs.test"})
        http(CHARLIE_HOST).post("/accounts/password-reset/", {"email": "charlie@charlies.test"})
    assert [m.to for m in mailoutbox] == [["bob@bobs.test"]]


def test_a_password_reset_lifts_the_accounts_lock(world, mailoutbox):
    for n in range(settings.LOGIN_FAILURES_PER_ACCOUNT):
        _post_login(http(BOB_HOST), "bea@bobs.test", f"guess {n}")
    assert LOCKED in _post_login(http(BOB_HOST), "bea@bobs.test", PASSWORD).content.decode()

    client = http(BOB_HOST)
    client.post("/accounts/password-reset/", {"email": "bea@bobs.test"})
    path = re.search(r"https?://[^/\s]+(/[^\s]+)", mailoutbox[0].body).group(1)
    form_page = client.get(path, follow=True)
    client.post(form_page.redirect_chain[-1][0], {"new_password1": "a brand new pass 42",
                                                  "new_password2": "a brand new pass 42"})
    assert _logged_in(_post_login(http(BOB_HOST), "bea@bobs.test", "a brand new pass 42"))


def test_logins_go_on_while_redis_is_unreachable(world, caplog):
    with override_settings(REDIS_URL="redis://127.0.0.1:1/0"):  # nothing listens there
        assert WRONG in _post_login(http(BOB_HOST), "bea@bobs.test", "guess").content.decode()
        assert _logged_in(_post_login(http(BOB_HOST), "bea@bobs.test", PASSWORD))
    assert any("login throttle unavailable" in r.getMessage() for r in caplog.records)
