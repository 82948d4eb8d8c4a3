"""Security headers and what error pages tell: a Content-Security-Policy on every page, HSTS
behind a TLS proxy in production, a plain 404 with DEBUG=0.

The browser side of the policy (no page breaks under it) is tests/switchboard/test_csp_browser.py.
"""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
from html.parser import HTMLParser
from http import HTTPStatus
from pathlib import Path

import pytest

from switchboard.csp import admin_style_hashes
from tests.conftest import BOB_HOST, PLATFORM_HOST, http

ROOT = Path(__file__).resolve().parent.parent.parent
CSP = "Content-Security-Policy"

# (who, host, path): every kind of page there is — the portal, compliance, the console and the
# wallboard, login and password reset, both admins, health, a CSV export, a Twilio webhook's answer.
PAGES = [
    (None, PLATFORM_HOST, "/accounts/login/"),
    (None, PLATFORM_HOST, "/accounts/password-reset/"),
    (None, BOB_HOST, "/accounts/login/"),
    (None, PLATFORM_HOST, "/healthz"),
    (None, PLATFORM_HOST, "/ping"),
    ("alice", PLATFORM_HOST, "/"),
    ("alice", PLATFORM_HOST, "/admin/"),
    ("alice", PLATFORM_HOST, "/admin/tenants/client/"),
    ("alice", PLATFORM_HOST, "/admin/tenants/user/add/"),
    ("alice", PLATFORM_HOST, "/clients/bobsplumbing/admin/"),
    ("alice", PLATFORM_HOST, "/clients/bobsplumbing/admin/compliance/ledgerentry/"),
    ("ben", PLATFORM_HOST, "/console/"),
    ("sam", PLATFORM_HOST, "/wallboard/"),
    ("bea", BOB_HOST, "/messages/"),
    ("bea", BOB_HOST, "/calls/"),
    ("bea", BOB_HOST, "/oncall/"),
    ("bea", BOB_HOST, "/policies/"),
    ("bea", BOB_HOST, "/users/"),
    ("bea", BOB_HOST, "/compliance/dnc/"),
    ("bea", BOB_HOST, "/compliance/ledger/"),
    ("bea", BOB_HOST, "/compliance/ledger/export.csv"),
    ("bob", BOB_HOST, "/admin/"),
    ("bob", BOB_HOST, "/admin/answering/script/add/"),
    ("bob", BOB_HOST, "/admin/compliance/ledgerentry/"),
    ("bob", BOB_HOST, "/admin/compliance/ledgerentry/check/"),
]


def _get(world, logged_in, who, host, path):
    client = logged_in(getattr(world, who), host) if who else http(host)
    return client.get(path)


def _directives(policy: str) -> dict[str, list[str]]:
    return {part.split()[0]: part.split()[1:] for part in policy.split(";") if part.strip()}


class _Inline(HTMLParser):
    """Collects what a strict policy would block: inline scripts, style attributes and
    elements, on… handlers, javascript: URLs."""

    def __init__(self):
        super().__init__()
        self.found: list[str] = []
        self._in: str | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        if tag == "script" and "src" not in attrs and attrs.get("type") != "application/json":
            self._in = "script"
        if tag == "style":
            self._in = "style"
        for name, value in attrs.items():
            if name == "style" or name.startswith("on"):
                self.found.append(f"<{tag} {name}=…>")
            if name in ("href", "src", "action") and (value or "").strip().lower().startswith("javascript:"):
                self.found.append(f"<{tag} {name}=javascript:…>")

    def handle_data(self, data):
        if self._in:
            self.found.append(f"<{self._in}>{data.strip()[:60]}")

    def handle_endtag(self, tag):
        if tag in ("script", "style"):
            self._in = None


@pytest.mark.django_db
@pytest.mark.parametrize(("who", "host", "path"), PAGES, ids=[f"{w or 'anonymous'}@{h}{p}" for w, h, p in PAGES])
def test_every_page_carries_a_strict_content_security_policy(world, logged_in, who, host, path):
    response = _get(world, logged_in, who, host, path)
    assert response.status_code in (HTTPStatus.OK, HTTPStatus.SERVICE_UNAVAILABLE), (path, response.status_code)
    policy = _directives(response[CSP])
    assert policy["default-src"] == ["'self'"] and policy["script-src"] == ["'self'"]
    assert policy["object-src"] == ["'none'"] and policy["frame-ancestors"] == ["'none'"]
    assert policy["base-uri"] == ["'self'"] and policy["form-action"] == ["'self'"]
    assert policy["connect-src"] == ["'self'", f"wss://{host}", f"ws://{host}"]
    assert not any("unsafe" in source for sources in policy.values() for source in sources)
    if response["Content-Type"].startswith("text/html"):
        parser = _Inline()
        parser.feed(response.content.decode())
        # Django's admin change list may carry one <style>, allowed by its hash.
        assert [f for f in parser.found if not f.startswith("<style>#changelist")] == [], path


@pytest.mark.django_db
def test_the_policy_is_on_the_answers_of_the_host_middleware_too(world):
    # An unknown host is refused before any view runs; the answer carries the policy all the same.
    response = http("nobody.localhost").get("/")
    assert response.status_code == HTTPStatus.NOT_FOUND
    assert "default-src 'self'" in response[CSP]


def test_the_admins_one_inline_style_is_allowed_by_its_hash():
    hashes = admin_style_hashes()
    assert len(hashes) == 1 and hashes[0].startswith("'sha256-")


def test_no_template_has_inline_script_or_style():
    """The pages run under script-src 'self' and style-src 'self': what a template writes inline
    would not run (a script) or not apply (a style). Scripts and styles go to static/."""
    found = []
    for path in sorted((ROOT / "templates").rglob("*.html")):
        text = path.read_text()
        for pattern in (r"<script(?![^>]*\bsrc=)(?![^>]*application/json)[^>]*>", r"<style\b", r"\sstyle=",
                        r"\son[a-z]+=", r"javascript:"):
            found += [f"{path.relative_to(ROOT)}: {m.group(0)}" for m in re.finditer(pattern, text)]
    assert found == []


# --- HSTS -----------------------------------------------------------------------------------

def _settings_with(**env: str) -> dict:
    """Import switchboard.settings in a fresh interpreter with this environment; the HSTS knobs."""
    base = {k: v for k, v in os.environ.items()
            if k not in {"DEBUG", "BEHIND_TLS_PROXY", "HSTS_SECONDS", "HSTS_INCLUDE_SUBDOMAINS", "HSTS_PRELOAD"}}
    code = ("import json; from switchboard import settings as s; print(json.dumps({k: getattr(s, k, None) for k in "
            "('SECURE_HSTS_SECONDS', 'SECURE_HSTS_INCLUDE_SUBDOMAINS', 'SECURE_HSTS_PRELOAD', "
            "'SECURE_PROXY_SSL_HEADER', 'SESSION_COOKIE_SECURE')}))")
    out = subprocess.run([sys.executable, "-c", code], cwd=ROOT, env={**base, **env}, capture_output=True, text=True,
                         timeout=60, check=True)
    return json.loads(out.stdout.strip().splitlines()[-1])


def test_hsts_is_on_behind_a_tls_proxy_in_production():
    production = _settings_with(DEBUG="0", BEHIND_TLS_PROXY="1")
    assert production["SECURE_HSTS_SECONDS"] == 31536000
    assert production["SECURE_HSTS_INCLUDE_SUBDOMAINS"] is True and production["SECURE_HSTS_PRELOAD"] is False
    assert production["SECURE_PROXY_SSL_HEADER"] == ["HTTP_X_FORWARDED_PROTO", "https"]
    tuned = _settings_with(DEBUG="0", BEHIND_TLS_PROXY="1", HSTS_SECONDS="600", HSTS_INCLUDE_SUBDOMAINS="0",
                           HSTS_PRELOAD="1")
    assert (tuned["SECURE_HSTS_SECONDS"], tuned["SECURE_HSTS_INCLUDE_SUBDOMAINS"], tuned["SECURE_HSTS_PRELOAD"]) == (
        600, False, True)


@pytest.mark.parametrize("env", [{"DEBUG": "1", "BEHIND_TLS_PROXY": "1"}, {"DEBUG": "0", "BEHIND_TLS_PROXY": "0"},
                                 {"DEBUG": "0"}], ids=["debug-behind-proxy", "production-no-proxy", "production-default"])
def test_no_hsts_without_tls_or_on_a_developers_machine(env):
    assert not _settings_with(**env)["SECURE_HSTS_SECONDS"]


@pytest.mark.django_db
def test_https_answers_carry_hsts_with_the_production_settings(world, settings):
    production = _settings_with(DEBUG="0", BEHIND_TLS_PROXY="1")
    settings.SECURE_PROXY_SSL_HEADER = tuple(production["SECURE_PROXY_SSL_HEADER"])
    settings.SECURE_HSTS_SECONDS = production["SECURE_HSTS_SECONDS"]
    settings.SECURE_HSTS_INCLUDE_SUBDOMAINS = production["SECURE_HSTS_INCLUDE_SUBDOMAINS"]
    response = http(PLATFORM_HOST).get("/accounts/login/", HTTP_X_FORWARDED_PROTO="https")
    assert response["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains"
    # Over plain HTTP (the proxy's health probe, say) HSTS means nothing and is not sent.
    assert "Strict-Transport-Security" not in http(PLATFORM_HOST).get("/accounts/login/")


# --- Error pages ----------------------------------------------------------------------------

@pytest.mark.django_db
@pytest.mark.parametrize("host", [PLATFORM_HOST, BOB_HOST])
def test_with_debug_off_a_404_is_the_plain_page_and_lists_no_url(world, settings, host):
    settings.DEBUG = False
    response = http(host).get("/no/such/page/")
    assert response.status_code == HTTPStatus.NOT_FOUND
    page = response.content.decode()
    assert "Page not found" in page and "There is no page at this address" in page
    for leak in ("URLconf", "admin/", "twilio/", "healthz", "compliance/", "Using the URLconf"):
        assert leak not in page
    assert "default-src 'self'" in response[CSP]


@pytest.mark.django_db
def test_with_debug_on_the_404_lists_the_patterns_for_the_developer(world, settings):
    """What `make run` shows on a laptop (DEBUG=1): Django's page with every URL pattern,
    without the policy, whose inline styles it needs. Documented in docs/operations.md."""
    settings.DEBUG = True
    response = http(PLATFORM_HOST).get("/no/such/page/")
    assert response.status_code == HTTPStatus.NOT_FOUND
    assert "URLconf" in response.content.decode()
    assert CSP not in response


@pytest.mark.django_db
def test_only_a_live_browser_phone_may_reach_twilio(world, logged_in, settings):
    """The Voice SDK signals to Twilio (wss://voice-js.<edge>.twilio.com) and reports call quality
    (eventgw.twilio.com); in simulate mode nothing leaves the host."""
    settings.TWILIO_MODE = "simulate"
    assert _directives(logged_in(world.ben, PLATFORM_HOST).get("/console/")[CSP])["connect-src"] == [
        "'self'", f"wss://{PLATFORM_HOST}", f"ws://{PLATFORM_HOST}"]
    settings.TWILIO_MODE = "live"
    sources = _directives(logged_in(world.ben, PLATFORM_HOST).get("/console/")[CSP])["connect-src"]
    assert "wss://*.twilio.com" in sources and "https://eventgw.twilio.com" in sources
    assert _directives(logged_in(world.ben, PLATFORM_HOST).get("/console/")[CSP])["script-src"] == ["'self'"]
