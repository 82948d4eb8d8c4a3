"""`manage.py billing_run 2026-11`: every client with a plan gets its statement, each from its
own calls, with a progress bar; a bad period or client is refused with why."""

from __future__ import annotations

import io
from datetime import datetime
from decimal import Decimal

import pytest
from django.core.management import CommandError, call_command
from django_tenants.utils import schema_context

from billing.models import Statement
from billing.services import billing_run, statement_issue
from tests.billing.conftest import NEW_YORK, assign, per_second_plan, record

pytestmark = pytest.mark.django_db


def test_the_run_bills_every_client_with_a_plan(world, five_calls):
    billing_plan = per_second_plan()
    assign(world.bobs, billing_plan)
    assign(world.charlies, billing_plan)
    record(world.charlies.schema_name, datetime(2026, 11, 4, 10, 0, tzinfo=NEW_YORK), talk=300, wrap=10)
    out, err = io.StringIO(), io.StringIO()
    call_command("billing_run", "2026-11", stdout=out, stderr=err)
    assert "2026-11: 2 of 2 statements built, 6 items" in out.getvalue()
    assert "billing 2026-11 [##############################] 2/2 clients" in err.getvalue()
    with schema_context(world.bobs.schema_name):
        assert Statement.objects.get(period="2026-11").total == Decimal("6.63")  # tests/billing/test_plans.py
    with schema_context(world.charlies.schema_name):
        assert Statement.objects.get(period="2026-11").total == Decimal("4.65")


def test_an_issued_statement_is_kept_and_the_run_goes_on(world, five_calls):
    billing_plan = per_second_plan()
    assign(world.bobs, billing_plan)
    assign(world.charlies, billing_plan)
    billing_run("2026-11", [world.bobs])
    with schema_context(world.bobs.schema_name):
        statement_issue(statement=Statement.objects.get(period="2026-11"))
    results = {r["client"]: r for r in billing_run("2026-11", progress=lambda done, total, result: None)}
    assert results["bobsplumbing"]["status"] == "issued" and "not rebuilt" in results["bobsplumbing"]["error"]
    assert results["charlieclinic"]["status"] == "built"


def test_only_the_clients_asked_for(world, five_calls):
    billing_plan = per_second_plan()
    assign(world.bobs, billing_plan)
    assign(world.charlies, billing_plan)
    call_command("billing_run", "2026-11", "--client", "charlieclinic", "--no-progress", stdout=io.StringIO())
    with schema_context(world.bobs.schema_name):
        assert not Statement.objects.exists()


@pytest.mark.parametrize(("args", "message"), [
    (["2026-13"], "is not a month: write it YYYY-MM"),
    (["2026-11", "--client", "nobody"], "No client with the schema name nobody"),
])
def test_bad_arguments_say_why(world, args, message):
    with pytest.raises(CommandError, match=message):
        call_command("billing_run", *args, stdout=io.StringIO(), stderr=io.StringIO())
