"""Operators' commands: create a client, list clients."""

from __future__ import annotations

from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django_tenants.utils import schema_exists

pytestmark = pytest.mark.django_db


def test_client_create_provisions(world):
    out = StringIO()
    call_command("client_create", "kimskitchen", "--name", "Kim's Kitchen", "--time-zone", "America/Los_Angeles",
                 "--languages", "en,es", "--number", "+14155550104", "--number", "+14155550105:sms", stdout=out)
    assert "Created Kim's Kitchen (kimskitchen) at kimskitchen.localhost" in out.getvalue()
    assert schema_exists("kimskitchen")


def test_client_create_explains_every_problem_and_writes_nothing(world):
    with pytest.raises(CommandError) as caught:
        call_command("client_create", "bobsplumbing", "--name", "Again", "--time-zone", "Atlantis/Capital",
                     "--number", "not a number")
    text = str(caught.value)
    assert "nothing was written" in text
    assert "slug: The slug “bobsplumbing” is taken." in text
    assert "time_zone:" in text and "numbers[1]:" in text


def test_client_list_shows_domains_and_numbers(world):
    out = StringIO()
    call_command("client_list", stdout=out)
    text = out.getvalue()
    assert "Bob's Plumbing  [bobsplumbing]" in text
    assert "bobsplumbing.localhost  (primary)" in text
    assert "+12125550111  Answering line" in text
    assert "Charlie's Clinic  [charlieclinic]" in text
    assert "[public]" not in text
