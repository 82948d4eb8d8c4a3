"""/healthz tells anyone each component's status, and only staff or a token holder the details.

A load balancer needs to know whether to send traffic here; an outsider must not learn how long
the database takes or what an error says (hosts, ports, versions).
"""

from __future__ import annotations

from http import HTTPStatus

import pytest

from tests.conftest import BOB_HOST, PLATFORM_HOST, http

pytestmark = pytest.mark.django_db
TOKEN = "s3cret-healthz-token"


@pytest.fixture
def redis_down(settings):
    # Nothing listens on port 1: Redis is down, with an error text that names the address.
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    settings.HEALTHZ_TOKEN = TOKEN


def _checks(response) -> dict:
    assert response.status_code == HTTPStatus.SERVICE_UNAVAILABLE
    body = response.json()
    assert body["status"] == "unhealthy"
    return body["checks"]


def _assert_status_only(response) -> None:
    checks = _checks(response)
    assert checks == {"database": {"ok": True, "status": "ok"}, "redis": {"ok": False, "status": "down"},
                      "celery": {"ok": False, "status": "down"}}
    assert b"127.0.0.1:1" not in response.content and b"Error" not in response.content


def _assert_details(response) -> None:
    checks = _checks(response)
    assert checks["database"]["status"] == "ok" and checks["database"]["detail"] == "reachable"
    assert isinstance(checks["database"]["ms"], float)
    assert checks["redis"]["status"] == "down" and "Error" in checks["redis"]["detail"]
    assert checks["celery"]["detail"] == "skipped: Redis is down"


@pytest.mark.parametrize("host", [PLATFORM_HOST, BOB_HOST])
def test_anonymous_callers_learn_each_components_status_only(world, redis_down, host):
    _assert_status_only(http(host).get("/healthz"))


def test_platform_staff_see_the_details(world, redis_down, logged_in):
    _assert_details(logged_in(world.alice, PLATFORM_HOST).get("/healthz"))  # platform admin
    _assert_details(logged_in(world.sam, PLATFORM_HOST).get("/healthz"))  # supervisor


def test_agents_and_client_users_see_the_status_only(world, redis_down, logged_in):
    _assert_status_only(logged_in(world.ben, PLATFORM_HOST).get("/healthz"))
    _assert_status_only(logged_in(world.bob, BOB_HOST).get("/healthz"))


@pytest.mark.parametrize("host", [PLATFORM_HOST, BOB_HOST])
def test_the_token_shows_the_details_by_header_or_query(world, redis_down, host):
    _assert_details(http(host).get("/healthz", HTTP_AUTHORIZATION=f"Bearer {TOKEN}"))
    _assert_details(http(host).get("/healthz", {"token": TOKEN}))


def test_a_wrong_or_missing_token_shows_the_status_only(world, redis_down, settings):
    _assert_status_only(http(PLATFORM_HOST).get("/healthz", HTTP_AUTHORIZATION="Bearer not-the-token"))
    _assert_status_only(http(PLATFORM_HOST).get("/healthz", {"token": TOKEN[:-1]}))
    _assert_status_only(http(PLATFORM_HOST).get("/healthz", HTTP_AUTHORIZATION=f"Basic {TOKEN}"))
    settings.HEALTHZ_TOKEN = ""  # no token configured: an empty one opens nothing
    _assert_status_only(http(PLATFORM_HOST).get("/healthz", {"token": ""}))
    _assert_status_only(http(PLATFORM_HOST).get("/healthz", HTTP_AUTHORIZATION="Bearer "))
