"""Three vendors' plans reproduced exactly from the same five calls (tests/billing/conftest.py),
each expected amount worked out by hand below; and what each rule does on its own."""

from __future__ import annotations

from datetime import datetime
from decimal import Decimal

import pytest
from django_tenants.utils import schema_context

from billing.models import StatementItem
from billing.services import statement_build
from tests.billing.conftest import (
    NEW_YORK,
    minutes_plus_wrap_plan,
    per_second_plan,
    plan,
    record,
    whole_minutes_free_short_plan,
)

pytestmark = pytest.mark.django_db
D = Decimal


def _agent_items(statement):
    return list(statement.items.filter(kind=StatementItem.Kind.AGENT).order_by("occurred_at"))


def _build(world, billing_plan):
    with schema_context(world.bobs.schema_name):
        statement = statement_build(client=world.bobs, period="2026-11", plan=billing_plan)
        return statement, _agent_items(statement)


def test_vendor_1_per_second_talk_and_wrap_up(world, five_calls):
    # Counted = talk (hold is within talk, and counted) + wrap-up; by the second at 0.90/min = 0.015/s:
    #   95+20 = 115 s → 1.725 → 1.73 | 20+5 = 25 s → 0.375 → 0.38 | 160+40+30 = 230 s → 3.45
    #   10+0 = 10 s → 0.15           | 61+0 = 61 s → 0.915 → 0.92
    # Total 1.73 + 0.38 + 3.45 + 0.15 + 0.92 = 6.63 (each item rounded once, half up).
    statement, items = _build(world, per_second_plan())
    assert [i.billed_seconds for i in items] == [115, 25, 230, 10, 61]
    assert [i.amount for i in items] == [D("1.73"), D("0.38"), D("3.45"), D("0.15"), D("0.92")]
    assert statement.total == D("6.63")
    assert statement.item_count == 5  # the abandoned call had no agent time and the plan bills no IVR


def test_vendor_2_whole_minutes_first_short_calls_free(world, five_calls):
    # Whole minutes rounded up at 1.00; calls under 30 s counted are free (the first 30 of them):
    #   115 s → 2 min = 2.00 | 25 s free | 230 s → 4 min = 4.00 | 10 s free | 61 s → 2 min = 2.00
    # Total 8.00.
    statement, items = _build(world, whole_minutes_free_short_plan())
    assert [i.billed_seconds for i in items] == [120, 0, 240, 0, 120]
    assert [i.amount for i in items] == [D("2.00"), D("0.00"), D("4.00"), D("0.00"), D("2.00")]
    assert "Free short call 1 of 30" in items[1].description and "Free short call 2 of 30" in items[3].description
    assert statement.total == D("8.00")


def test_only_the_first_short_calls_are_free(world, five_calls):
    # Only one free short call: the first by arrival (25 s on the 4th) is free; the second
    # (10 s on the 6th) is billed a whole minute. 2 + 0 + 4 + 1 + 2 = 9.00.
    one_free = plan("One free", increment_seconds=60, minute_rate="1.00", free_short_calls=1, short_call_seconds=30)
    statement, items = _build(world, one_free)
    assert [i.billed_seconds for i in items] == [120, 0, 240, 60, 120]
    assert statement.total == D("9.00")


def test_vendor_3_whole_minutes_plus_a_wrap_up_minute_included_and_overage(world, five_calls):
    # Talk only, rounded up to whole minutes, + 60 s per call; laid end to end in arrival order:
    #   95 → 120+60 = 180 s   (0–180)    included
    #   20 → 60+60  = 120 s   (180–300)  included
    #   200 → 240+60 = 300 s  (300–600)  240 s included (to 540 = 9 min), 60 s at 1.20 = 1.20
    #   10 → 60+60  = 120 s   (600–720)  at 1.20 = 2.40
    #   61 → 120+60 = 180 s   (720–900)  above 12 min (720 s) at 1.00 = 3.00
    # Calls 6.60, base fee 25.00: total 31.60.
    statement, items = _build(world, minutes_plus_wrap_plan())
    assert [i.billed_seconds for i in items] == [180, 120, 300, 120, 180]
    assert [i.included_seconds for i in items] == [180, 120, 240, 0, 0]
    assert [i.amount for i in items] == [D("0.00"), D("0.00"), D("1.20"), D("2.40"), D("3.00")]
    with schema_context(world.bobs.schema_name):
        fee = statement.items.get(kind=StatementItem.Kind.FEE)
    assert fee.amount == D("25.00")
    assert statement.total == D("31.60")


def test_hold_time_counted_or_not(world, five_calls):
    # The third call talked 200 s of which 40 s on hold, then 30 s of wrap-up.
    # Hold not counted: 160 + 30 = 190 s at 0.015 = 2.85; counted: 230 s = 3.45.
    no_hold = plan("No hold", increment_seconds=1, minute_rate="0.90", count_hold=False)
    _, items = _build(world, no_hold)
    assert (items[2].measured_seconds, items[2].amount) == (190, D("2.85"))
    assert "hold 40 s" in items[2].description


def test_six_second_increments_and_a_minimum(world, five_calls):
    # 6 s increments, at least 30 s, 0.60/min = 0.01/s:
    #   115 → 120 = 1.20 | 25 → 30 (minimum) = 0.30 | 230 → 234 = 2.34 | 10 → 30 = 0.30 | 61 → 66 = 0.66
    # Total 4.80.
    six = plan("Six", increment_seconds=6, minimum_seconds=30, minute_rate="0.60")
    statement, items = _build(world, six)
    assert [i.billed_seconds for i in items] == [120, 30, 234, 30, 66]
    assert statement.total == D("4.80")


def test_ivr_minutes_at_their_own_rate(world, five_calls):
    # Every call spent 8 s in the menu (arrival → queued): 6 calls, each 8 s → 1 min at 0.10.
    # Agent time is free in this plan. Total 0.60.
    ivr = plan("IVR", increment_seconds=60, minute_rate="0", ivr_minute_rate="0.10")
    with schema_context(world.bobs.schema_name):
        statement = statement_build(client=world.bobs, period="2026-11", plan=ivr)
        menu = list(statement.items.filter(kind="ivr"))
    assert [(i.measured_seconds, i.billed_seconds, i.amount) for i in menu] == [(8, 60, D("0.10"))] * 6
    assert {i.call_id for i in menu} == {c.pk for c in five_calls}
    assert statement.total == D("0.60")


def test_tiers_price_a_call_that_crosses_a_boundary_at_both_rates(world):
    # One call of 10 minutes: 3 included, then 1.00 to minute 5, then 0.50 beyond:
    # 2 min × 1.00 + 5 min × 0.50 = 4.50, in one item.
    record(world.bobs.schema_name, datetime(2026, 11, 12, 9, 0, tzinfo=NEW_YORK), talk=600, wrap=0)
    tiered = plan("Tiered", increment_seconds=60, included_minutes=3, minute_rate="1.00", tiers=((5, "0.50"),))
    statement, items = _build(world, tiered)
    assert [(i.billed_seconds, i.included_seconds, i.amount) for i in items] == [(600, 180, D("4.50"))]
