from __future__ import annotations

import pytest
from django.core.management import call_command
from django_tenants.utils import schema_context

from answering.models import KnowledgeFact
from tenants.models import Client, PhoneNumber, User

pytestmark = pytest.mark.django_db


def _counts() -> tuple[int, int, int, list[int]]:
    facts = []
    for slug in ("northside", "bayview", "harpercole"):
        with schema_context(slug):
            facts.append(KnowledgeFact.objects.count())
    return Client.objects.count(), User.objects.count(), PhoneNumber.objects.count(), facts


def test_the_demo_seeds_once_and_a_second_run_adds_nothing(world, capsys):
    call_command("seed_demo")
    first = _counts()
    call_command("seed_demo")
    assert _counts() == first
    out = capsys.readouterr().out
    for text in ("http://northside.localhost:8000/", "+13055550102", "admin@switchboard.example", "switchboard-demo"):
        assert text in out
    assert Client.objects.get(schema_name="bayview").languages == ["en", "es"]
    assert User.objects.get(email="ana@switchboard.example").agent_profile.clients.count() == 3
