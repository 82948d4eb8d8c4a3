"""GET /healthz: can this process reach PostgreSQL, Redis and at least one Celery worker?

Anyone may ask (a load balancer has no account): everyone learns each component's status.
How long each check took and what went wrong (an error's text names hosts, ports and
versions) go only to logged-in platform staff and to whoever presents ``HEALTHZ_TOKEN``.
"""

from __future__ import annotations

import hmac
import time
from http import HTTPStatus

import redis
from django.conf import settings
from django.db import connection
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.views.decorators.cache import never_cache

from switchboard.celery import app as celery_app


def _timed(check) -> dict:
    started = time.perf_counter()
    try:
        detail = check()
        ok = True
    except Exception as exc:  # a health check reports every failure, whatever it is
        detail, ok = f"{type(exc).__name__}: {exc}", False
    return {"ok": ok, "ms": round((time.perf_counter() - started) * 1000, 1), "detail": detail}


def _database() -> str:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")
        cursor.fetchone()
    return "reachable"


def _redis() -> str:
    client = redis.Redis.from_url(settings.REDIS_URL, socket_connect_timeout=1, socket_timeout=1)
    try:
        client.ping()
    finally:
        client.close()
    return "reachable"


def _celery() -> str:
    # limit=1: answer as soon as one worker replies instead of waiting out the timeout.
    replies = celery_app.control.ping(timeout=0.5, limit=1) or []
    if not replies:
        raise RuntimeError("no worker answered a ping within 0.5 s")
    return f"{len(replies)} worker(s): " + ", ".join(sorted(name for reply in replies for name in reply))


def _token_given(request: HttpRequest) -> str:
    """The token in ``Authorization: Bearer …`` or, for probes that cannot send headers, ``?token=``."""
    scheme, _, token = request.headers.get("Authorization", "").partition(" ")
    if scheme.lower() == "bearer" and token.strip():
        return token.strip()
    return request.GET.get("token", "")


def healthz_details_allowed(request: HttpRequest) -> bool:
    """May this caller see timings and error text? Platform staff on the platform host, or the token."""
    user = getattr(request, "user", None)
    if user is not None and user.is_authenticated and user.is_staff:
        return True
    expected = settings.HEALTHZ_TOKEN
    # compare_digest: the time a wrong token takes says nothing about the right one.
    return bool(expected) and hmac.compare_digest(_token_given(request).encode(), expected.encode())


@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    checks = {"database": _timed(_database), "redis": _timed(_redis)}
    # Without Redis a worker ping would only wait on the broker's reconnect loop.
    checks["celery"] = _timed(_celery) if checks["redis"]["ok"] else {"ok": False, "ms": 0, "detail": "skipped: Redis is down"}
    for check in checks.values():
        check["status"] = "ok" if check["ok"] else "down"
    healthy = all(check["ok"] for check in checks.values())
    status = HTTPStatus.OK if healthy else HTTPStatus.SERVICE_UNAVAILABLE
    if not healthz_details_allowed(request):
        checks = {name: {"ok": check["ok"], "status": check["status"]} for name, check in checks.items()}
    return JsonResponse({"status": "ok" if healthy else "unhealthy", "checks": checks}, status=status)


def ping(request: HttpRequest) -> HttpResponse:
    """Liveness for load balancers: this process answers. Touches nothing else."""
    return HttpResponse("ok", content_type="text/plain")
