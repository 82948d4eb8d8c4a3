"""Shared by the billing tests: the same five calls at Bob's Plumbing (New York), written by
hand, that the vendor plans are reproduced from, and a helper to write any call record."""

from __future__ import annotations

import itertools
from datetime import datetime, timedelta
from decimal import Decimal
from zoneinfo import ZoneInfo

import pytest
from django_tenants.utils import schema_context

from answering.models import CallRecord
from billing.platform.models import BillingPlan, PlanAssignment, PlanTier

NEW_YORK = ZoneInfo("America/New_York")
_sids = itertools.count(1)


def record(schema: str, arrived: datetime, *, talk: int | None = None, hold: int | None = None,
           wrap: int | None = None, queued_after: int = 8, answered: bool = True, outcome: str = "answered",
           agent=None) -> CallRecord:
    """A finished call record in ``schema``: it arrived, spent ``queued_after`` s in the menu,
    was answered (talk includes hold), then wrapped up."""
    queued = arrived + timedelta(seconds=queued_after)
    answered_at = queued + timedelta(seconds=5) if answered else None
    ended = (answered_at + timedelta(seconds=talk or 0)) if answered else queued + timedelta(seconds=20)
    with schema_context(schema):
        return CallRecord.objects.create(
            call_sid=f"CA{schema[:6]}{next(_sids):026d}", caller="+12125557001", number_dialed="+12125550111",
            arrived_at=arrived, queued_at=queued, answered_at=answered_at, ended_at=ended,
            wait_seconds=5 if answered else 20, talk_seconds=talk if answered else None,
            hold_seconds=hold, wrap_up_seconds=wrap if answered else None, outcome=outcome, agent=agent)


# The five answered calls of November 2026 at Bob's, in arrival order: (talk incl. hold, hold, wrap-up).
FIVE_CALLS = [(95, None, 20), (20, None, 5), (200, 40, 30), (10, None, 0), (61, None, 0)]


@pytest.fixture
def five_calls(world) -> list[CallRecord]:
    """The five calls on 3–7 November 2026 at 10:00 New York time, and an abandoned one."""
    calls = [record(world.bobs.schema_name, datetime(2026, 11, 3 + i, 10, 0, tzinfo=NEW_YORK),
                    talk=talk, hold=hold, wrap=wrap, agent=world.ana)
             for i, (talk, hold, wrap) in enumerate(FIVE_CALLS)]
    calls.append(record(world.bobs.schema_name, datetime(2026, 11, 9, 10, 0, tzinfo=NEW_YORK), answered=False,
                        outcome="abandoned"))
    return calls


def plan(name: str, *, tiers: tuple[tuple[int, str], ...] = (), **fields) -> BillingPlan:
    money = {k: Decimal(v) if isinstance(v, str) else v for k, v in fields.items()}
    made = BillingPlan.objects.create(name=name, **money)
    for above, rate in tiers:
        PlanTier.objects.create(plan=made, above_minutes=above, minute_rate=Decimal(rate))
    return made


def assign(client, billing_plan: BillingPlan) -> None:
    PlanAssignment.objects.update_or_create(client=client, defaults={"plan": billing_plan})


# The three vendors' plans, as their price lists say.
def per_second_plan() -> BillingPlan:
    """Vendor 1: talk and wrap-up by the second, 0.90 a minute."""
    return plan("Per second", increment_seconds=1, minute_rate="0.90")


def whole_minutes_free_short_plan() -> BillingPlan:
    """Vendor 2: whole minutes rounded up, 1.00 a minute, the first 30 calls under 30 s free."""
    return plan("Whole minutes, short calls free", increment_seconds=60, minute_rate="1.00",
                free_short_calls=30, short_call_seconds=30)


def minutes_plus_wrap_plan() -> BillingPlan:
    """Vendor 3: talk in whole minutes plus one wrap-up minute per call (actual wrap-up not
    counted), 9 minutes included in a 25.00 base fee, then 1.20 a minute, above 12 minutes 1.00."""
    return plan("Minutes plus a wrap-up minute", increment_seconds=60, count_wrap_up=False, per_call_seconds=60,
                included_minutes=9, minute_rate="1.20", base_fee="25.00", tiers=((12, "1.00"),))
