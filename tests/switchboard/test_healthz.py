from __future__ import annotations

from http import HTTPStatus

import pytest

from tests.conftest import BOB_HOST, PLATFORM_HOST, http

pytestmark = pytest.mark.django_db


@pytest.mark.processes
def test_healthy_when_database_redis_and_a_worker_answer(world, celery_worker, logged_in):
    # As platform staff: the details (which worker answered) are theirs (test_healthz_access.py).
    response = logged_in(world.alice, PLATFORM_HOST).get("/healthz")
    body = response.json()
    assert response.status_code == HTTPStatus.OK, body
    assert body["status"] == "ok"
    assert {name: check["ok"] for name, check in body["checks"].items()} == {
        "database": True, "redis": True, "celery": True}
    assert "worker" in body["checks"]["celery"]["detail"]


def test_unhealthy_when_redis_is_unreachable(world, settings):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # nothing listens on port 1
    response = http(BOB_HOST).get("/healthz")
    body = response.json()
    assert response.status_code == HTTPStatus.SERVICE_UNAVAILABLE
    assert body["checks"]["database"]["ok"] is True
    assert body["checks"]["redis"]["ok"] is False
    assert body["checks"]["celery"]["ok"] is False
