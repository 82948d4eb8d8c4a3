"""Schemathesis against /api/schema/, every operation, on a real server (uvicorn, the test database):
no answer is a 500, and every answer matches the schema — its status, content type, headers and body.

A client of this module's own, committed (the server sees only committed data) with a key of every
scope and a little of everything, so the generated ids sometimes hit and mostly miss."""

from __future__ import annotations

import json
from urllib.request import Request, urlopen

import pytest
import schemathesis
from django.db import connection
from hypothesis import HealthCheck, given, settings
from schemathesis import checks

from api.models import ApiKey
from api.services.keys import api_key_create
from tenants import services
from tenants.models import Client
from tests.api.conftest import ALL_SCOPES, make_data

pytestmark = pytest.mark.processes
SLUG = "apischema"
HOST = f"{SLUG}.localhost"
EXAMPLES = 8  # per operation: the whole run stays well under a minute
CHECKS = [checks.not_a_server_error, checks.status_code_conformance, checks.content_type_conformance,
          checks.response_headers_conformance, checks.response_schema_conformance]


@pytest.fixture(scope="module")
def schema_key(django_db_setup, django_db_blocker):
    with django_db_blocker.unblock():
        client = services.client_provision(name="Schema Inc", slug=SLUG, time_zone="America/New_York", domain=HOST)
        _, plain = api_key_create(client=client, name="schemathesis", scopes=ALL_SCOPES, expires_at=None, by="t")
        make_data(SLUG, name="Schema", number="+12125550160")
    try:
        yield plain
    finally:
        with django_db_blocker.unblock():
            connection.set_schema_to_public()
            ApiKey.objects.filter(client__schema_name=SLUG).delete()
            Client.objects.get(schema_name=SLUG).delete(force_drop=True)


@pytest.fixture(scope="module")
def api_schema(asgi_server, schema_key):
    request = Request(f"http://127.0.0.1:{asgi_server}/api/schema/?format=json", headers={"Host": HOST})
    with urlopen(request, timeout=30) as response:
        raw = json.loads(response.read())
    assert len(raw["paths"]) >= 15  # every group is described
    return schemathesis.openapi.from_dict(raw)


def test_every_operation_conforms(api_schema, asgi_server, schema_key):
    # Each operation in a hypothesis run of its own (schemathesis' pytest loader predates pytest 9).
    operations = [result.ok() for result in api_schema.get_all_operations()]
    assert len(operations) >= 18
    for operation in operations:
        @given(case=operation.as_strategy())
        @settings(max_examples=EXAMPLES, deadline=None, suppress_health_check=list(HealthCheck), database=None)
        def conforms(case):
            case.call_and_validate(base_url=f"http://127.0.0.1:{asgi_server}", checks=CHECKS,
                                   headers={"Host": HOST, "Authorization": f"Bearer {schema_key}"})

        conforms()
