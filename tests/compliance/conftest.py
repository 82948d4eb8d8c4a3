"""Helpers for the compliance tests: a loaded registry, and the gate asked inside a client's schema."""

from __future__ import annotations

import datetime as dt
import zoneinfo

import pytest
from django.utils import timezone
from django_tenants.utils import tenant_context

from compliance.platform.models import RegistryLoad
from compliance.services import contact_decide, registry_load

# Numbers used across the tests (555-01xx: reserved for fiction, valid here).
NY = "+12125550142"  # New York (212), Eastern
MIAMI = "+13055550142"  # Florida (305), Eastern
TULSA = "+19185550142"  # Oklahoma (918), Central
ON_REGISTRY = "+12125550199"  # on the sample registry
EASTERN = zoneinfo.ZoneInfo("America/New_York")


def local(zone: str, *args) -> dt.datetime:
    return dt.datetime(*args, tzinfo=zoneinfo.ZoneInfo(zone))


# A Tuesday afternoon in New York: inside every US window.
WEEKDAY_AFTERNOON = local("America/New_York", 2025, 6, 3, 14, 0)


def load_registry(tmp_path, numbers, *, file_date=None, kind=RegistryLoad.Kind.FULL, name="registry.txt",
                  deletions=False):
    path = tmp_path / name
    path.write_text("".join(f"{n}\n" for n in numbers))
    return registry_load(path=str(path), kind=kind, file_date=file_date or timezone.now().date(),
                         loaded_by="tests", deletions=deletions)


@pytest.fixture
def registry(tmp_path):
    """A fresh full registry holding ON_REGISTRY (file dated 2025-06-01, so fresh on WEEKDAY_AFTERNOON)."""
    load, _ = load_registry(tmp_path, [ON_REGISTRY[2:], "2025550123"], file_date=dt.date(2025, 6, 1))
    return load


@pytest.fixture
def decide():
    """decide(client, number, purpose=..., channel=..., at=..., ...) -> Decision, inside that client's schema."""

    def ask(client, number, *, purpose="telemarketing", channel="voice", at=WEEKDAY_AFTERNOON, **kwargs):
        kwargs.setdefault("asked_by", "tests")
        with tenant_context(client):
            return contact_decide(client=client, number=number, purpose=purpose, channel=channel, at=at, **kwargs)

    return ask
