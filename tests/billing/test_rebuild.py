"""A draft is brought up to date by rewriting only what changed: a changed call updates its
item (and, the rules running in arrival order, the items after it) and nothing before it; the
result is always exactly what a build from nothing writes; an issued statement never changes."""

from __future__ import annotations

from datetime import datetime, timedelta
from decimal import Decimal

import pytest
from django.db.models import ProtectedError
from django_tenants.utils import schema_context

from answering.models import CallRecord, Message
from billing.models import Statement, StatementItem
from billing.services import StatementClosed, statement_build, statement_issue
from tests.billing.conftest import NEW_YORK, assign, plan, record

pytestmark = pytest.mark.django_db
D = Decimal
CONTENT = ("kind", "call_id", "source_id", "reference", "occurred_at", "description", "measured_seconds",
           "billed_seconds", "included_seconds", "amount", "talk_seconds", "hold_seconds", "wrap_up_seconds")


def _everything():
    # Every rule at work: 6 s increments, 2 short calls free, 2 minutes included, a tier, menu
    # minutes, a message fee and a base fee.
    return plan("Everything", increment_seconds=6, minute_rate="0.85", ivr_minute_rate="0.07", free_short_calls=2,
                short_call_seconds=30, included_minutes=2, tiers=((4, "0.50"),), message_fee="1.25", base_fee="10.00")


def _items(statement) -> dict:
    """Item id → its content."""
    return {row["id"]: tuple(row[c] for c in CONTENT) for row in statement.items.values("id", *CONTENT)}


def _from_nothing(world, billing_plan) -> list:
    """What a full build writes now (sorted content), leaving the draft rebuilt in full."""
    statement = statement_build(client=world.bobs, period="2026-11", plan=billing_plan, full=True)
    return sorted(_items(statement).values(), key=repr)


@pytest.fixture
def month(world):
    """Eight November calls at Bob's, a day apart, from short to long, and the plan."""
    calls = [record(world.bobs.schema_name, datetime(2026, 11, 2 + i, 10, 0, tzinfo=NEW_YORK), talk=talk, wrap=3)
             for i, talk in enumerate([12, 95, 20, 200, 61, 15, 300, 40])]
    billing_plan = _everything()
    assign(world.bobs, billing_plan)
    return calls, billing_plan


def test_a_changed_call_rewrites_its_item_and_those_after_it_and_nothing_before(world, month):
    calls, billing_plan = month
    with schema_context(world.bobs.schema_name):
        before = _items(statement_build(client=world.bobs, period="2026-11"))
        changed = calls[4]
        CallRecord.objects.filter(pk=changed.pk).update(wrap_up_seconds=40)
        after = _items(statement_build(client=world.bobs, period="2026-11"))
        kept = set(before) & set(after)
        # The items of the calls before the changed one are the same rows, untouched.
        earlier = {pk for pk, row in before.items() if row[4] < changed.arrived_at}
        assert earlier and earlier <= kept
        assert all(before[pk][4] >= changed.arrived_at or before[pk][0] == "fee" for pk in set(before) - kept)
        agent = next(row for row in after.values() if row[0] == "agent" and row[1] == changed.pk)
        assert agent[CONTENT.index("wrap_up_seconds")] == 40 and "wrap-up 40 s" in agent[CONTENT.index("description")]
        assert sorted(after.values(), key=repr) == _from_nothing(world, billing_plan)


def test_nothing_changed_rewrites_nothing(world, month):
    with schema_context(world.bobs.schema_name):
        first = _items(statement_build(client=world.bobs, period="2026-11"))
        again = _items(statement_build(client=world.bobs, period="2026-11"))
        assert again == first  # the same rows, the same ids


def test_after_any_changes_the_draft_is_what_a_build_from_nothing_writes(world, month):
    calls, billing_plan = month
    schema = world.bobs.schema_name
    steps = [
        lambda: record(schema, datetime(2026, 11, 30, 22, 0, tzinfo=NEW_YORK), talk=33, wrap=0),  # a new call, last
        lambda: record(schema, datetime(2026, 11, 2, 9, 0, tzinfo=NEW_YORK), talk=10, wrap=0),  # a new first call
        lambda: CallRecord.objects.filter(pk=calls[2].pk).update(talk_seconds=25, hold_seconds=5),  # re-timed
        lambda: CallRecord.objects.filter(pk=calls[6].pk).update(arrived_at=calls[6].arrived_at + timedelta(days=40)),
        lambda: CallRecord.objects.filter(pk=calls[7].pk).update(outcome="in_progress"),  # back in progress
        lambda: CallRecord.objects.filter(pk=calls[3].pk).update(queued_at=calls[3].arrived_at + timedelta(seconds=70)),
        lambda: Message.objects.create(call=calls[1], call_sid=calls[1].call_sid, end_action="message"),
        lambda: CallRecord.objects.filter(pk=calls[5].pk).delete(),  # gone (the ORM protects named calls)
    ]
    with schema_context(schema):
        statement_build(client=world.bobs, period="2026-11")
        for number, step in enumerate(steps):
            if number == len(steps) - 1:
                StatementItem.objects.filter(call_id=calls[5].pk).delete()
                Message.objects.filter(call=calls[5]).delete()
            step()
            statement = statement_build(client=world.bobs, period="2026-11")
            built = sorted(_items(statement).values(), key=repr)
            total = statement.total
            assert built == _from_nothing(world, billing_plan), f"after step {number}"
            assert total == sum(row[CONTENT.index("amount")] for row in built)
            assert Statement.objects.get(pk=statement.pk).total == total


def test_a_changed_plan_rebuilds_the_whole_draft(world, month):
    _, billing_plan = month
    with schema_context(world.bobs.schema_name):
        first = statement_build(client=world.bobs, period="2026-11")
        billing_plan.minute_rate = D("2.00")
        billing_plan.save()
        again = statement_build(client=world.bobs, period="2026-11")
        assert D(again.plan["minute_rate"]) == D("2.00") and again.total > first.total
        assert sorted(_items(again).values(), key=repr) == _from_nothing(world, billing_plan)


def test_an_issued_statement_never_changes(world, month):
    calls, billing_plan = month
    with schema_context(world.bobs.schema_name):
        statement = statement_build(client=world.bobs, period="2026-11")
        statement_issue(statement=statement)
        issued = _items(statement)
        CallRecord.objects.filter(pk=calls[0].pk).update(talk_seconds=999)
        record(world.bobs.schema_name, datetime(2026, 11, 20, 10, 0, tzinfo=NEW_YORK), talk=60, wrap=0)
        billing_plan.minute_rate = D("3.00")
        billing_plan.save()
        for full in (False, True):
            with pytest.raises(StatementClosed):
                statement_build(client=world.bobs, period="2026-11", full=full)
        kept = Statement.objects.get(pk=statement.pk)
        assert _items(kept) == issued and (kept.total, kept.item_count) == (statement.total, statement.item_count)


def test_a_call_an_item_names_is_kept(world, month):
    # No database constraint (docs/billing.md says why); the ORM refuses the delete instead.
    calls, _ = month
    with schema_context(world.bobs.schema_name):
        statement_issue(statement=statement_build(client=world.bobs, period="2026-11"))
        with pytest.raises(ProtectedError):
            CallRecord.objects.filter(pk=calls[0].pk).delete()
        assert CallRecord.objects.filter(pk=calls[0].pk).exists()
