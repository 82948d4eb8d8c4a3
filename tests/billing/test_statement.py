"""A statement's promises: its total is the sum of its items, every item names its source,
a call belongs to the period it started in (midnight on the last day, a DST month), each
client's statement holds only its own calls, a rebuild changes nothing, an issued statement
stays as issued, and the per-message, dispatch, text and attempt fees."""

from __future__ import annotations

from datetime import datetime, timedelta
from datetime import timezone as dt_timezone
from decimal import Decimal

import pytest
from django.core.exceptions import ValidationError
from django_tenants.utils import schema_context

from answering.models import CallRecord, Delivery, Message
from billing.models import Statement, StatementItem
from billing.services import NoPlan, Period, StatementClosed, statement_build, statement_issue
from campaigns.models import CallAttempt
from tests.billing.conftest import NEW_YORK, assign, minutes_plus_wrap_plan, per_second_plan, plan, record

pytestmark = pytest.mark.django_db
D = Decimal
CHICAGO_TZ = "America/Chicago"


def _build(client, period="2026-11", billing_plan=None):
    with schema_context(client.schema_name):
        statement = statement_build(client=client, period=period, plan=billing_plan)
        items = list(statement.items.order_by("kind", "occurred_at", "id"))
    return statement, items


def test_the_total_is_the_sum_of_the_items_and_every_item_names_its_call(world, five_calls):
    everything = plan("Everything", increment_seconds=6, minute_rate="0.85", ivr_minute_rate="0.07",
                      base_fee="10.00", included_minutes=2)
    statement, items = _build(world.bobs, billing_plan=everything)
    assert statement.total == sum(i.amount for i in items) and statement.item_count == len(items)
    with schema_context(world.bobs.schema_name):
        sids = dict(CallRecord.objects.values_list("pk", "call_sid"))
        assert Statement.objects.get(pk=statement.pk).total == statement.total
    for item in items:
        if item.kind in ("agent", "ivr"):
            assert item.call_id in sids and item.reference == sids[item.call_id]
        else:
            assert item.kind == "fee" and item.reference == "Everything"
    assert {i.call_id for i in items if i.kind == "agent"} == {c.pk for c in five_calls if c.answered_at}


def test_a_call_across_midnight_on_the_last_day_belongs_to_the_month_it_started_in(world):
    # 23:59:50 on 30 November in New York (04:59:50 UTC on 1 December), talking 120 s past midnight.
    late = record(world.bobs.schema_name, datetime(2026, 11, 30, 23, 59, 50, tzinfo=NEW_YORK) - timedelta(seconds=13),
                  talk=120, wrap=10)
    assert late.arrived_at.astimezone(NEW_YORK).date().day == 30 and late.ended_at.astimezone(NEW_YORK).day == 1
    early = record(world.bobs.schema_name, datetime(2026, 12, 1, 0, 0, 5, tzinfo=NEW_YORK), talk=30, wrap=0)
    first = record(world.bobs.schema_name, datetime(2026, 11, 1, 0, 0, 0, tzinfo=NEW_YORK), talk=30, wrap=0)
    before = record(world.bobs.schema_name, datetime(2026, 10, 31, 23, 59, 59, tzinfo=NEW_YORK), talk=30, wrap=0)
    billing_plan = per_second_plan()
    november, items = _build(world.bobs, "2026-11", billing_plan)
    december, december_items = _build(world.bobs, "2026-12", billing_plan)
    october, october_items = _build(world.bobs, "2026-10", billing_plan)
    assert {i.call_id for i in items} == {late.pk, first.pk}
    assert [i.call_id for i in december_items] == [early.pk]
    assert [i.call_id for i in october_items] == [before.pk]
    assert next(i for i in items if i.call_id == late.pk).billed_seconds == 130  # billed whole, once


def test_a_dst_month_is_an_hour_longer_and_both_half_past_ones_are_in_it(world):
    # 1 November 2026: New York falls back at 02:00 EDT, so 01:30 happens twice.
    start, end = Period.parse("2026-11").bounds("America/New_York")
    assert (start.isoformat(), end.isoformat()) == ("2026-11-01T04:00:00+00:00", "2026-12-01T05:00:00+00:00")
    assert end - start == timedelta(days=30, hours=1)
    march_start, march_end = Period.parse("2027-03").bounds("America/New_York")
    assert march_end - march_start == timedelta(days=31) - timedelta(hours=1)
    twice = [record(world.bobs.schema_name, datetime(2026, 11, 1, 1, 30, fold=fold, tzinfo=NEW_YORK), talk=60, wrap=0)
             for fold in (0, 1)]
    assert twice[1].arrived_at.timestamp() - twice[0].arrived_at.timestamp() == 3600
    _, items = _build(world.bobs, "2026-11", per_second_plan())
    assert sorted(i.call_id for i in items) == sorted(c.pk for c in twice)


def test_the_period_is_the_month_in_the_clients_own_zone(world):
    # 23:30 on 31 October in Chicago is 00:30 on 1 November in New York: October for Charlie.
    chicago = record(world.charlies.schema_name, datetime(2026, 11, 1, 4, 30, tzinfo=dt_timezone.utc),
                     talk=60, wrap=0)
    billing_plan = per_second_plan()
    october, items = _build(world.charlies, "2026-10", billing_plan)
    assert [i.call_id for i in items] == [chicago.pk]
    assert october.time_zone == CHICAGO_TZ


def test_no_clients_statement_shows_another_clients_calls(world, five_calls):
    # Ana served both clients that day: each call is billed to the client whose schema holds it.
    charlies = [record(world.charlies.schema_name, datetime(2026, 11, 4, 10, 0, tzinfo=NEW_YORK), talk=300, wrap=10,
                       agent=world.ana)]
    billing_plan = per_second_plan()
    bob_statement, bob_items = _build(world.bobs, billing_plan=billing_plan)
    charlie_statement, charlie_items = _build(world.charlies, billing_plan=billing_plan)
    bob_sids = {c.call_sid for c in five_calls}
    assert {i.reference for i in bob_items} <= bob_sids
    assert [i.reference for i in charlie_items] == [charlies[0].call_sid]
    assert charlie_statement.total == D("310") * D("0.015") == D("4.65")
    with schema_context(world.charlies.schema_name):
        # Bob's statement (its id) is not in Charlie's schema; Charlie's has Charlie's one item.
        assert list(Statement.objects.values_list("period", "total")) == [("2026-11", D("4.65"))]
        assert not StatementItem.objects.filter(reference__in=bob_sids).exists()


def test_a_transferred_call_is_one_record_billed_once(world):
    # A call Ana transferred to Ben keeps its one record (the ACD moves the record's agent):
    # one item, for the whole of its talk.
    call = record(world.bobs.schema_name, datetime(2026, 11, 10, 9, 0, tzinfo=NEW_YORK), talk=400, wrap=20,
                  agent=world.ben, outcome="answered")
    _, items = _build(world.bobs, billing_plan=per_second_plan())
    assert [(i.call_id, i.billed_seconds) for i in items] == [(call.pk, 420)]


def test_rebuilding_is_idempotent(world, five_calls):
    billing_plan = minutes_plus_wrap_plan()
    first, first_items = _build(world.bobs, billing_plan=billing_plan)
    again, again_items = _build(world.bobs, billing_plan=billing_plan)
    assert again.pk == first.pk and again.total == first.total
    key = lambda items: [(i.kind, i.call_id, i.billed_seconds, i.amount) for i in items]  # noqa: E731
    assert key(again_items) == key(first_items)
    with schema_context(world.bobs.schema_name):
        assert StatementItem.objects.count() == len(first_items)
        assert Statement.objects.count() == 1


def test_a_rebuilt_draft_takes_in_new_calls(world, five_calls):
    billing_plan = per_second_plan()
    first, _ = _build(world.bobs, billing_plan=billing_plan)
    record(world.bobs.schema_name, datetime(2026, 11, 20, 10, 0, tzinfo=NEW_YORK), talk=60, wrap=0)
    again, items = _build(world.bobs, billing_plan=billing_plan)
    assert again.total == first.total + D("0.90") and len(items) == 6


def test_an_issued_statement_is_not_rebuilt(world, five_calls):
    billing_plan = per_second_plan()
    statement, items = _build(world.bobs, billing_plan=billing_plan)
    with schema_context(world.bobs.schema_name):
        statement_issue(statement=statement)
    record(world.bobs.schema_name, datetime(2026, 11, 20, 10, 0, tzinfo=NEW_YORK), talk=60, wrap=0)
    with pytest.raises(StatementClosed, match="2026-11 was issued"):
        _build(world.bobs, billing_plan=billing_plan)
    with schema_context(world.bobs.schema_name):
        kept = Statement.objects.get(pk=statement.pk)
        assert (kept.total, kept.items.count()) == (statement.total, len(items))


def test_calls_in_progress_are_left_for_a_later_build(world):
    record(world.bobs.schema_name, datetime(2026, 11, 20, 10, 0, tzinfo=NEW_YORK), talk=60, wrap=None,
           outcome="in_progress")
    statement, items = _build(world.bobs, billing_plan=per_second_plan())
    assert items == [] and statement.total == D("0")


def test_a_client_with_no_plan_is_told_so(world):
    with schema_context(world.bobs.schema_name), pytest.raises(NoPlan, match="no billing plan"):
        statement_build(client=world.bobs, period="2026-11")
    assign(world.bobs, per_second_plan())
    with schema_context(world.bobs.schema_name):
        assert statement_build(client=world.bobs, period="2026-11").plan["name"] == "Per second"


@pytest.mark.parametrize("bad", ["2026-13", "2026-1", "November", "", "1999-12"])
def test_a_malformed_period_says_how_to_write_it(bad):
    with pytest.raises(ValidationError, match="YYYY-MM"):
        Period.parse(bad)


def test_message_dispatch_text_and_attempt_fees(world, five_calls):
    # Fees: message 1.50, dispatch 4.00, text 0.05, outbound attempt 0.10; agent time free.
    # A message and a dispatch on the first two calls, a voicemail message without a call in
    # November, two texts delivering the dispatch (one sent in November, one never sent), a
    # campaign text, two placed call attempts and one never placed:
    # 1.50 + 1.50 + 4.00 + 0.05 + 0.05 + 0.10 + 0.10 = 7.30.
    fees = plan("Fees", minute_rate="0", message_fee="1.50", dispatch_fee="4.00", text_fee="0.05",
                attempt_fee="0.10")
    november = datetime(2026, 11, 15, 12, 0, tzinfo=NEW_YORK)
    with schema_context(world.bobs.schema_name):
        taken = Message.objects.create(call=five_calls[0], call_sid=five_calls[0].call_sid, end_action="message")
        dispatch = Message.objects.create(call=five_calls[1], call_sid=five_calls[1].call_sid, end_action="dispatch")
        voicemail = Message.objects.create(source="voicemail", end_action="message")
        Message.objects.filter(pk=voicemail.pk).update(created=november)
        sent = Delivery.objects.create(message=dispatch, channel="sms", address="+12125550145", due_at=november,
                                       status="delivered", sent_at=november, provider_sid="SM1")
        Delivery.objects.create(message=dispatch, channel="sms", address="+12125550146", due_at=november,
                                status="failed", round=2)
        Delivery.objects.create(message=dispatch, channel="email", address="a@b.test", due_at=november,
                                status="sent", sent_at=november, round=3)
        attempt = dict(number="+12125550200", purpose="informational", started_at=november)
        texted = CallAttempt.objects.create(channel="sms", outcome="sms_sent", twilio_sid="SM2", **attempt)
        placed = [CallAttempt.objects.create(channel="voice", outcome=outcome, twilio_sid=f"CA{n}", **attempt)
                  for n, outcome in enumerate(["no_answer", "live_answered"])]
        CallAttempt.objects.create(channel="voice", outcome="not_placed", **attempt)
    statement, items = _build(world.bobs, billing_plan=fees)
    fee_items = [(i.kind, i.source_id, i.amount) for i in items if i.kind != "agent"]
    assert sorted(fee_items) == sorted([
        ("message", taken.pk, D("1.50")), ("message", voicemail.pk, D("1.50")), ("dispatch", dispatch.pk, D("4.00")),
        ("text", sent.pk, D("0.05")), ("text", texted.pk, D("0.05")),
        ("attempt", placed[0].pk, D("0.10")), ("attempt", placed[1].pk, D("0.10"))])
    text = next(i for i in items if i.kind == "text" and i.source_id == sent.pk)
    assert text.call_id == five_calls[1].pk  # the dispatch's text is traced to its call
    assert statement.total == D("7.30")
    assert statement.summary["dispatch"] == {"items": 1, "amount": "4.00", "billed_seconds": None}


def test_a_period_built_now_is_this_month_in_the_clients_zone(world):
    from billing.services import period_current

    # 03:00 UTC on 1 December is still November in New York (22:00 on the 30th).
    assert str(period_current(world.bobs, datetime(2026, 12, 1, 3, 0, tzinfo=dt_timezone.utc))) == "2026-11"


def test_appointment_texts_are_billed_per_text_sent_in_the_period(world):
    """An appointment's confirmation or reminder text is a text like any other: billed once, in the
    period it was sent; emails, unsent texts and texts sent after the period are not."""
    from datetime import time

    from calendars.models import AppointmentNotice, AppointmentType, Calendar, WorkingHours
    from calendars.selectors import appointment_slots
    from calendars.services.booking import appointment_book

    fees = plan("Texts", minute_rate="0", text_fee="0.05")
    november = datetime(2026, 11, 15, 12, 0, tzinfo=NEW_YORK)
    last_night = datetime(2026, 11, 30, 23, 30, tzinfo=NEW_YORK)  # 04:30 UTC on 1 December: still the client's November
    december = datetime(2026, 12, 1, 0, 30, tzinfo=NEW_YORK)
    with schema_context(world.bobs.schema_name):
        desk = Calendar.objects.create(name="Billing desk")
        WorkingHours.objects.bulk_create([WorkingHours(calendar=desk, weekday=d, start=time(0), end=time(23, 59, 59))
                                          for d in range(7)])
        visit = AppointmentType.objects.create(name="Billing visit", duration_minutes=30, step_minutes=30,
                                               min_notice_minutes=60, horizon_days=30)
        visit.calendars.add(desk)
        booked = appointment_book(type_=visit, calendar=desk, start=appointment_slots(visit, count=1)[0].start,
                                  by="test", name="Pat Lee")
        # One notice per (kind, channel, start spoken of): each its own start, as after reschedules.
        starts = iter(booked.start + timedelta(days=n) for n in range(10))
        notice = dict(appointment=booked, due_at=november)
        sent = AppointmentNotice.objects.create(kind="confirmation", channel="sms", address="+12125550147",
                                                status="sent", sent_at=november, provider_sid="SM9",
                                                for_start=next(starts), **notice)
        AppointmentNotice.objects.create(kind="reminder", channel="email", address="pat@example.test",
                                         status="sent", sent_at=november, for_start=next(starts), **notice)
        AppointmentNotice.objects.create(kind="reminder", channel="sms", address="+12125550147", for_start=next(starts),
                                         **notice)
        edge = AppointmentNotice.objects.create(kind="reminder", channel="sms", address="+12125550147",
                                                status="sent", sent_at=last_night, provider_sid="SM10",
                                                for_start=next(starts), **notice)
        AppointmentNotice.objects.create(kind="reminder", channel="sms", address="+12125550147", status="sent",
                                         sent_at=december, provider_sid="SM11", for_start=next(starts), **notice)
    statement, items = _build(world.bobs, billing_plan=fees)
    texts = [(i.kind, i.source_id, i.amount, i.reference) for i in items if i.description.startswith("Appointment")]
    assert sorted(texts) == sorted([("text", sent.pk, D("0.05"), "SM9"), ("text", edge.pk, D("0.05"), "SM10")])
    assert statement.total == sum(i.amount for i in items)
