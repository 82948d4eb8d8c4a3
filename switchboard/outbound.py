"""Where a request to a URL a client chose may go: public addresses only, unless the setting
``OUTBOUND_ALLOW_PRIVATE`` allows more (development and tests).

Event webhooks' endpoints and calendars' busy-time feeds are URLs the client chooses, so
without this guard they could reach into our own network (the metadata service at
169.254.169.254, Redis on 127.0.0.1, a 10.x admin page). The check runs when the URL is saved
(a clear refusal) and again on every connection: the connection itself resolves, checks and
connects to the checked address, so a name whose DNS changes after the check (DNS rebinding)
gets nowhere. Redirects are never followed.
"""

from __future__ import annotations

import ipaddress
import socket
from urllib.parse import urlsplit

import requests
from django.conf import settings
from requests.adapters import HTTPAdapter
from urllib3.connection import HTTPConnection, HTTPSConnection
from urllib3.connectionpool import HTTPConnectionPool, HTTPSConnectionPool


class UrlRefused(Exception):
    """We do not connect to that URL; the message says why, for a person."""


def address_refusal(address: str) -> str:
    """Why we do not connect to this IP address ("" if we do)."""
    ip = ipaddress.ip_address(address.split("%", 1)[0])
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped:
        ip = ip.ipv4_mapped  # ::ffff:127.0.0.1 is 127.0.0.1
    for test, what in ((ip.is_loopback, "a loopback"), (ip.is_link_local, "a link-local"),
                       (ip.is_multicast, "a multicast"), (ip.is_private, "a private"),
                       (ip.is_reserved, "a reserved"), (ip.is_unspecified, "an unspecified"),
                       (not ip.is_global, "a non-public")):
        if test:
            return f"{address} is {what} address"
    return ""


def resolve_checked(host: str, port: int) -> list[str]:
    """The addresses ``host`` resolves to, all allowed; raises ``UrlRefused`` if it does not resolve
    or if any of them is refused (one bad answer is enough: the resolver picks, not us)."""
    try:
        infos = socket.getaddrinfo(host, port, type=socket.SOCK_STREAM)
    except (socket.gaierror, UnicodeError) as exc:
        raise UrlRefused(f"The host “{host}” does not resolve ({exc}).") from exc
    addresses = list(dict.fromkeys(info[4][0] for info in infos))
    if not settings.OUTBOUND_ALLOW_PRIVATE:
        for address in addresses:
            why = address_refusal(address)
            if why:
                raise UrlRefused(f"“{host}” resolves to {address}: {why}; we connect to public addresses only.")
    return addresses


def url_check(url: str, *, resolve: bool = True) -> str:
    """``url`` cleaned, or ``UrlRefused`` saying what is wrong with it: not http(s), no host,
    credentials in it, or (with ``resolve``) a host that does not resolve or resolves to an
    address we refuse."""
    url = (url or "").strip()
    try:
        parts = urlsplit(url)
        port = parts.port
    except ValueError as exc:
        raise UrlRefused(f"That is not a URL: {exc}.") from exc
    if parts.scheme not in ("http", "https"):
        raise UrlRefused("The URL must start with https:// (or http://).")
    if not parts.hostname:
        raise UrlRefused("The URL has no host name.")
    if parts.username or parts.password:
        raise UrlRefused("Leave user names and passwords out of the URL.")
    if resolve:
        resolve_checked(parts.hostname, port or (443 if parts.scheme == "https" else 80))
    return url


def _connect(conn: HTTPConnection) -> socket.socket:
    """Resolve, check, connect to a checked address (never to a fresh, unchecked lookup)."""
    last: OSError | None = None
    for address in resolve_checked(conn._dns_host, conn.port):
        try:
            sock = socket.create_connection((address, conn.port), conn.timeout, source_address=conn.source_address)
        except OSError as exc:
            last = exc
            continue
        sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        return sock
    raise last or OSError(f"could not connect to {conn.host}")


class _HTTPConnection(HTTPConnection):
    def _new_conn(self) -> socket.socket:
        return _connect(self)


class _HTTPSConnection(HTTPSConnection):
    # TLS still checks the certificate against the host name: only the TCP target is ours.
    def _new_conn(self) -> socket.socket:
        return _connect(self)


class _HTTPPool(HTTPConnectionPool):
    ConnectionCls = _HTTPConnection


class _HTTPSPool(HTTPSConnectionPool):
    ConnectionCls = _HTTPSConnection


class _GuardedAdapter(HTTPAdapter):
    def init_poolmanager(self, *args, **kwargs) -> None:
        super().init_poolmanager(*args, **kwargs)
        self.poolmanager.pool_classes_by_scheme = {"http": _HTTPPool, "https": _HTTPSPool}


def session() -> requests.Session:
    """A requests session whose every connection goes through the guard; no proxies from the
    environment (a proxy would connect for us, unchecked)."""
    s = requests.Session()
    s.trust_env = False
    adapter = _GuardedAdapter(max_retries=0)
    s.mount("http://", adapter)
    s.mount("https://", adapter)
    return s
