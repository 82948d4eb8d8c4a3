"""The rate limit holds across processes: two real gunicorn servers (production's HTTP server, one
worker each) hammered together with one key let through exactly the limit between them."""

from __future__ import annotations

import time
from concurrent.futures import ThreadPoolExecutor
from urllib.error import HTTPError
from urllib.request import Request, urlopen

import pytest
from django.db import connection

from api.models import ApiKey
from api.services.keys import api_key_create
from tenants import services
from tenants.models import Client
from tests.processes import _env, gunicorn_servers

pytestmark = pytest.mark.processes
SLUG = "apirate"
HOST = f"{SLUG}.localhost"
LIMIT = 25


@pytest.fixture(scope="module")
def plain_key(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        client = services.client_provision(name="Rate Inc", slug=SLUG, time_zone="America/New_York", domain=HOST)
        _, plain = api_key_create(client=client, name="hammer", scopes=["oncall:read"], expires_at=None, by="t")
    try:
        yield plain
    finally:
        with django_db_blocker.unblock():
            connection.set_schema_to_public()
            ApiKey.objects.filter(client__schema_name=SLUG).delete()
            Client.objects.get(schema_name=SLUG).delete(force_drop=True)


@pytest.fixture(scope="module")
def two_servers(plain_key, tmp_path_factory):
    env = _env(API_RATE_PER_KEY_PER_MINUTE=str(LIMIT), API_RATE_PER_CLIENT_PER_MINUTE="100000", DEBUG="0",
               SECRET_KEY="rate-test")
    yield from gunicorn_servers(2, env, tmp_path_factory.mktemp("gunicorn"), "--threads", "8",
                                "--worker-class", "gthread")


def _get(port: int, plain: str) -> tuple[int, str]:
    request = Request(f"http://127.0.0.1:{port}/api/v1/oncall/people",
                      headers={"Host": HOST, "Authorization": f"Bearer {plain}"})
    try:
        with urlopen(request, timeout=10) as response:
            return response.status, ""
    except HTTPError as refused:
        return refused.code, refused.headers.get("Retry-After", "")


def test_two_processes_let_through_the_limit_in_total(two_servers, plain_key):
    from switchboard.redis_clients import redis_client

    redis = redis_client(timeout=5)
    for key in redis.scan_iter(match="api:rate:*"):
        redis.delete(key)
    if time.time() % 60 > 40:  # all of it inside one minute's window
        time.sleep(61 - time.time() % 60)
    with ThreadPoolExecutor(16) as pool:
        answers = list(pool.map(lambda i: _get(two_servers[i % 2], plain_key), range(80)))
    codes = [code for code, _ in answers]
    assert codes.count(200) == LIMIT, codes
    assert codes.count(429) == 80 - LIMIT
    assert all(1 <= int(after) <= 60 for code, after in answers if code == 429)
