"""The current month's draft on the portal: shown as built while fresh (a big month is seconds
of work), rebuilt from the call log once it is over five minutes old."""

from __future__ import annotations

from datetime import timedelta

import pytest
from django.utils import timezone
from django_tenants.utils import schema_context

from billing.models import Statement
from billing.services import period_current, statement_build
from tests.billing.conftest import assign, per_second_plan, record
from tests.conftest import BOB_HOST

pytestmark = pytest.mark.django_db


def test_a_fresh_draft_is_shown_and_a_stale_one_rebuilt(world, logged_in):
    assign(world.bobs, per_second_plan())
    start, _ = period_current(world.bobs).bounds(world.bobs.time_zone)
    at = max(start, timezone.now() - timedelta(hours=1))
    record(world.bobs.schema_name, at, talk=60, wrap=0)
    with schema_context(world.bobs.schema_name):
        statement = statement_build(client=world.bobs, period=str(period_current(world.bobs)))
    record(world.bobs.schema_name, at + timedelta(minutes=1), talk=60, wrap=0)
    bob = logged_in(world.bob, BOB_HOST)
    assert "0.90 USD" in bob.get("/billing/").content.decode()  # fresh: as built, one call
    with schema_context(world.bobs.schema_name):
        Statement.objects.filter(pk=statement.pk).update(built_at=timezone.now() - timedelta(minutes=6))
    assert "1.80 USD" in bob.get("/billing/").content.decode()  # stale: rebuilt, both calls
