"""Key rows cached per process (api/auth.py) never outlive a revocation: two real gunicorn servers,
each holding the key in its cache, refuse it on the very next request after ``api_key_revoke``.

To show the cache is really in use, the key's row is changed behind its back (its scope taken
away directly in the table, which no service does and nothing announces): the servers go on
answering from their copy until a revocation bumps the generation, or Redis loses it."""

from __future__ import annotations

import json
from urllib.error import HTTPError
from urllib.request import Request, urlopen

import pytest
from django.db import connection

from api.models import ApiKey
from api.services.keys import api_key_create, api_key_revoke
from switchboard.redis_clients import redis_client
from tenants import services
from tenants.models import Client
from tests.processes import _env, gunicorn_servers

pytestmark = pytest.mark.processes
SLUG = "apicache"
HOST = f"{SLUG}.localhost"


@pytest.fixture(scope="module")
def client_row(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        client = services.client_provision(name="Cache Inc", slug=SLUG, time_zone="America/New_York", domain=HOST)
    try:
        yield client
    finally:
        with django_db_blocker.unblock():
            connection.set_schema_to_public()
            ApiKey.objects.filter(client__schema_name=SLUG).delete()
            Client.objects.get(schema_name=SLUG).delete(force_drop=True)


@pytest.fixture(scope="module")
def two_servers(client_row, tmp_path_factory):
    env = _env(API_KEY_CACHE_SECONDS="300", DEBUG="0", SECRET_KEY="cache-test")
    yield from gunicorn_servers(2, env, tmp_path_factory.mktemp("gunicorn"), "--worker-class", "sync")


@pytest.fixture
def key(client_row, django_db_blocker):
    """A committed key with messages:read (the servers see only committed rows)."""
    with django_db_blocker.unblock():
        row, plain = api_key_create(client=client_row, name="cached", scopes=["messages:read"], expires_at=None,
                                    by="t")
    return row, plain


def _get(port: int, plain: str) -> tuple[int, str]:
    request = Request(f"http://127.0.0.1:{port}/api/v1/messages?limit=1",
                      headers={"Host": HOST, "Authorization": f"Bearer {plain}"})
    try:
        with urlopen(request, timeout=60) as response:  # a busy machine: a cold worker is slow
            return response.status, ""
    except HTTPError as refused:
        return refused.code, json.loads(refused.read())["detail"]


def _take_scope_behind_the_caches_back(row: ApiKey, django_db_blocker) -> None:
    with django_db_blocker.unblock():
        ApiKey.objects.filter(pk=row.pk).update(scopes=["calls:read"])


def test_a_revoked_key_is_refused_at_once_by_every_process_that_cached_it(two_servers, key, django_db_blocker):
    row, plain = key
    assert [_get(port, plain)[0] for port in two_servers] == [200, 200]  # each process caches the row
    _take_scope_behind_the_caches_back(row, django_db_blocker)
    assert [_get(port, plain)[0] for port in two_servers] == [200, 200]  # served from the cache
    with django_db_blocker.unblock():
        assert api_key_revoke(key=row, by="t")
    answers = [_get(port, plain) for port in two_servers]
    assert [code for code, _ in answers] == [401, 401]
    assert all("revoked" in detail for _, detail in answers)


def test_a_lost_generation_trusts_no_cached_row(two_servers, key, django_db_blocker):
    """Redis restarted empty: the generation starts again from the clock, not from a value a
    process may hold, so every cached row is read again."""
    row, plain = key
    assert [_get(port, plain)[0] for port in two_servers] == [200, 200]
    _take_scope_behind_the_caches_back(row, django_db_blocker)
    redis_client(timeout=5).delete("api:keys:gen")
    answers = [_get(port, plain) for port in two_servers]
    assert [code for code, _ in answers] == [403, 403]  # the row as it is now: no messages:read
