"""Content-Security-Policy on every response: the pages run only the project's own scripts.

Every page loads its scripts and stylesheets from /static/ (no inline ``<script>``, no
``style=`` attributes, no ``on…=`` handlers: data reaches scripts through ``data-``
attributes or ``json_script``), so a strict policy fits: a script injected into a page —
a caller's name that slipped past escaping — does not run, and the page cannot be framed.
The sockets are same-origin (``/ws/…``), named for browsers whose ``'self'`` does not
cover ``ws:``/``wss:``. Recordings play from the same host (``media-src 'self'``).

Django's admin has one inline ``<style>`` (the change list without actions); its hash is
allowed, read from the installed Django so an upgrade keeps it right.

Django's debug error pages (``DEBUG=1`` only: the yellow 404 and 500 pages) are built of
inline styles and scripts; they go without the header so a developer can read them.
"""

from __future__ import annotations

import base64
import functools
import hashlib
import re
from pathlib import Path

import django.contrib.admin
from asgiref.sync import iscoroutinefunction, markcoroutinefunction
from django.conf import settings
from django.core.exceptions import DisallowedHost
from django.http import HttpRequest, HttpResponseBase

HEADER = "Content-Security-Policy"
POLICY = {
    "default-src": ["'self'"],
    "script-src": ["'self'"],
    "style-src": ["'self'"],
    "img-src": ["'self'", "data:"],
    "media-src": ["'self'"],
    "font-src": ["'self'"],
    "connect-src": ["'self'"],
    "object-src": ["'none'"],
    "base-uri": ["'self'"],
    "form-action": ["'self'"],
    "frame-ancestors": ["'none'"],
}


@functools.cache
def admin_style_hashes() -> tuple[str, ...]:
    """The hashes of the inline ``<style>`` blocks in Django's admin change list template."""
    template = Path(django.contrib.admin.__file__).parent / "templates" / "admin" / "change_list.html"
    blocks = re.findall(r"<style>(.*?)</style>", template.read_text(encoding="utf-8"), flags=re.DOTALL)
    return tuple("'sha256-" + base64.b64encode(hashlib.sha256(b.encode()).digest()).decode() + "'" for b in blocks)


def policy_for(request: HttpRequest) -> str:
    """The policy's text for this request (its host names the WebSocket origins)."""
    directives = {name: list(sources) for name, sources in POLICY.items()}
    directives["style-src"] += admin_style_hashes()
    try:
        host = request.get_host()
    except DisallowedHost:  # answered 400 anyway; 'self' alone is stricter still
        host = None
    if host:
        directives["connect-src"] += [f"wss://{host}", f"ws://{host}"]
    if settings.TWILIO_MODE == "live":
        # The browser phone's signalling and call-quality events go to Twilio itself (the
        # SDK's script is served from here; the media is WebRTC, outside this policy).
        directives["connect-src"] += ["wss://*.twilio.com", "https://eventgw.twilio.com", "https://*.twilio.com"]
    return "; ".join(f"{name} {' '.join(sources)}" for name, sources in directives.items())


def _is_debug_page(response: HttpResponseBase) -> bool:
    # With DEBUG on, a 404 or 500 is Django's technical page (inline styles and scripts).
    return settings.DEBUG and response.status_code in (404, 500)


class ContentSecurityPolicyMiddleware:
    """Adds the policy to every response that has none of its own. Sync and async alike,
    so under ASGI it costs no hop between the event loop and a thread."""

    sync_capable = True
    async_capable = True

    def __init__(self, get_response):
        self.get_response = get_response
        self.is_async = iscoroutinefunction(get_response)
        if self.is_async:
            markcoroutinefunction(self)

    def __call__(self, request: HttpRequest):
        if self.is_async:
            return self._acall(request)
        return self._add(request, self.get_response(request))

    async def _acall(self, request: HttpRequest):
        return self._add(request, await self.get_response(request))

    def _add(self, request: HttpRequest, response: HttpResponseBase) -> HttpResponseBase:
        if HEADER not in response and not _is_debug_page(response):
            response[HEADER] = policy_for(request)
        return response
