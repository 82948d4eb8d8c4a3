"""GET /healthz: can this process reach PostgreSQL, Redis and at least one Celery worker?"""

from __future__ import annotations

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


@never_cache
def healthz(request: HttpRequest) -> JsonResponse:
    checks = {"database": _timed(_database), "redis": _timed(_redis)}
    # Without Redis a worker ping would only wait on the broker's reconnect loop.
    checks["celery"] = _timed(_celery) if checks["redis"]["ok"] else {"ok": False, "ms": 0, "detail": "skipped: Redis is down"}
    healthy = all(check["ok"] for check in checks.values())
    status = HTTPStatus.OK if healthy else HTTPStatus.SERVICE_UNAVAILABLE
    return JsonResponse({"status": "ok" if healthy else "unhealthy", "checks": checks}, status=status)


def ping(request: HttpRequest) -> HttpResponse:
    """Liveness for load balancers: this process answers. Touches nothing else."""
    return HttpResponse("ok", content_type="text/plain")
