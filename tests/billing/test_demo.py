"""The demo bills: each demo client is on one of three plans, and its current month's
statement, built from the seeded history, adds up item by item."""

from __future__ import annotations

import pytest
from django.core.management import call_command
from django.db.models import Sum
from django_tenants.utils import schema_context

from answering.models import CallRecord
from billing.demo import PLANS
from billing.platform.models import PlanAssignment
from billing.services import Period, statement_build
from tenants.models import Client

pytestmark = pytest.mark.django_db


def test_each_demo_client_has_a_plan_and_a_statement_that_adds_up(world):
    call_command("seed_demo")
    call_command("seed_demo")  # idempotent: nothing twice
    assert PlanAssignment.objects.filter(client__schema_name__in=list(PLANS)).count() == len(PLANS)
    for slug, (name, _, _) in PLANS.items():
        client = Client.objects.get(schema_name=slug)
        assert client.billing_plan.plan.name == name
        with schema_context(slug):
            # The month of the latest seeded call (not "now": on the 1st it may have none yet).
            latest = CallRecord.objects.latest("arrived_at").arrived_at.astimezone(client.tz).date()
            statement = statement_build(client=client, period=Period.of(latest))
            items = statement.items.all()
            assert items.filter(call__isnull=False).exists()  # the seeded calls are billed
            assert statement.total == items.aggregate(s=Sum("amount"))["s"]
