"""The ACD: who gets which call, exactly once, and what happens when things go wrong."""

from __future__ import annotations

import uuid
from datetime import timedelta

import pytest
from django.utils import timezone

from answering.acd import services as acd
from answering.acd.models import AgentPresence, CallSession

pytestmark = pytest.mark.django_db
State = CallSession.State


def _queued(world, *, client=None, priority=0, language="en", minutes_ago=0) -> CallSession:
    return CallSession.objects.create(
        call_sid="CA" + uuid.uuid4().hex, client=client or world.bobs, to_number="+12125550111",
        from_number="+12125559876", state=State.QUEUED, priority=priority, language=language,
        queued_at=timezone.now() - timedelta(minutes=minutes_ago),
    )


def _available(agent, idle_minutes=0):
    presence = acd.agent_status_set(agent=agent, status="available")
    AgentPresence.objects.filter(pk=presence.pk).update(idle_since=timezone.now() - timedelta(minutes=idle_minutes))


def test_calls_go_by_priority_then_longest_waiting_to_the_longest_idle_agent(world):
    old_normal = _queued(world, minutes_ago=5)
    new_emergency = _queued(world, priority=2, minutes_ago=1)
    _available(world.ben, idle_minutes=1)
    _available(world.ana, idle_minutes=10)
    offered = acd.acd_dispatch()
    assert [(s.pk, s.offered_to_id) for s in offered] == [(new_emergency.pk, world.ana.pk),
                                                         (old_normal.pk, world.ben.pk)]
    assert AgentPresence.objects.get(agent=world.ana).status == "offered"


def test_only_agents_who_serve_the_client_and_speak_the_language_are_offered(world):
    spanish_for_bob = _queued(world, language="es")
    for_charlie = _queued(world, client=world.charlies)
    _available(world.ben)  # Bob's only, English only
    assert acd.acd_dispatch() == []
    _available(world.ana)
    offered = {s.pk: s.offered_to_id for s in acd.acd_dispatch()}
    assert offered in ({spanish_for_bob.pk: world.ana.pk}, {for_charlie.pk: world.ana.pk})


def test_an_agent_on_break_is_not_offered(world):
    _queued(world)
    acd.agent_status_set(agent=world.ben, status="break")
    assert acd.acd_dispatch() == []


def test_an_offer_not_accepted_in_time_moves_to_the_next_agent(world):
    call = _queued(world)
    _available(world.ben, idle_minutes=10)
    _available(world.ana, idle_minutes=1)
    (first,) = acd.acd_dispatch()
    assert first.offered_to_id == world.ben.pk
    assert not acd.offer_expire(call_id=call.pk, agent_id=world.ben.pk)  # not yet due
    CallSession.objects.filter(pk=call.pk).update(offer_expires_at=timezone.now() - timedelta(seconds=1))
    assert acd.offer_expire(call_id=call.pk, agent_id=world.ben.pk)
    (second,) = acd.acd_dispatch()
    assert second.pk == call.pk and second.offered_to_id == world.ana.pk
    assert acd.call_accept(call_id=call.pk, agent=world.ben) is None  # too late for Ben
    assert acd.call_accept(call_id=call.pk, agent=world.ana) is not None


def test_an_agent_who_misses_offers_in_a_row_is_set_away(world, settings):
    settings.ACD_MISSED_OFFERS_BEFORE_AWAY = 2
    _available(world.ben)
    for attempt in range(2):
        call = _queued(world)
        (offer,) = acd.acd_dispatch()
        CallSession.objects.filter(pk=call.pk).update(offer_expires_at=timezone.now())
        assert acd.offer_expire(call_id=call.pk, agent_id=world.ben.pk)
        CallSession.objects.filter(pk=call.pk).update(state=State.ABANDONED)
    presence = AgentPresence.objects.get(agent=world.ben)
    assert presence.status == "away" and presence.missed_offers == 2
    _queued(world)
    assert acd.acd_dispatch() == []


def test_a_declined_offer_goes_to_the_next_agent_at_once(world):
    call = _queued(world)
    _available(world.ben, idle_minutes=10)
    _available(world.ana, idle_minutes=1)
    acd.acd_dispatch()
    assert acd.call_decline(call_id=call.pk, agent=world.ben)
    (offer,) = acd.acd_dispatch()
    assert offer.offered_to_id == world.ana.pk


def test_a_failed_agent_leg_puts_the_caller_back_at_the_head_of_the_queue(world):
    first_in_line = _queued(world, minutes_ago=10)
    later = _queued(world, minutes_ago=1)
    _available(world.ben)
    acd.acd_dispatch()
    assert acd.call_accept(call_id=first_in_line.pk, agent=world.ben)
    session = acd.agent_leg_failed(session=CallSession.objects.get(pk=first_in_line.pk), dial_status="no-answer")
    assert session.state == State.QUEUED and session.agent_id is None
    _available(world.ana)
    CallSession.objects.filter(pk=later.pk).update(state=State.QUEUED)
    offers = acd.acd_dispatch()
    assert offers[0].pk == first_in_line.pk  # its original place: ahead of the later caller


def test_a_caller_who_hangs_up_while_queued_is_abandoned(world):
    call = _queued(world)
    acd.call_status_update(session=call, status="completed", sequence=5)
    call.refresh_from_db()
    assert call.state == State.ABANDONED and call.ended_at


def test_a_hang_up_while_offered_frees_the_agent(world):
    call = _queued(world)
    _available(world.ben)
    acd.acd_dispatch()
    acd.call_status_update(session=CallSession.objects.get(pk=call.pk), status="completed", sequence=3)
    assert CallSession.objects.get(pk=call.pk).state == State.ABANDONED
    assert AgentPresence.objects.get(agent=world.ben).status == "available"


def test_wrap_up_then_available_again(world):
    call = _queued(world)
    _available(world.ben)
    acd.acd_dispatch()
    acd.call_accept(call_id=call.pk, agent=world.ben)
    acd.call_status_update(session=CallSession.objects.get(pk=call.pk), status="completed", sequence=4)
    assert AgentPresence.objects.get(agent=world.ben).status == "wrap_up"
    assert not acd.wrap_up_end(session_id=call.pk)  # not over yet
    CallSession.objects.filter(pk=call.pk).update(wrap_up_until=timezone.now())
    assert acd.wrap_up_end(session_id=call.pk)
    assert CallSession.objects.get(pk=call.pk).state == State.COMPLETED
    assert AgentPresence.objects.get(agent=world.ben).status == "available"


def test_the_state_machine_refuses_going_backwards(world):
    call = _queued(world)
    CallSession.objects.filter(pk=call.pk).update(state=State.COMPLETED)
    call.refresh_from_db()
    with pytest.raises(acd.TransitionRefused):
        acd.call_enqueue(session=call, priority=0)


def test_the_database_allows_an_agent_one_live_call(world):
    from django.db import IntegrityError, transaction

    first, second = _queued(world), _queued(world)
    CallSession.objects.filter(pk=first.pk).update(state=State.CONNECTED, agent=world.ben)
    with pytest.raises(IntegrityError), transaction.atomic():
        CallSession.objects.filter(pk=second.pk).update(state=State.CONNECTED, agent=world.ben)


def test_the_sweep_expires_lost_offers(world):
    call = _queued(world)
    _available(world.ben)
    acd.acd_dispatch()
    CallSession.objects.filter(pk=call.pk).update(offer_expires_at=timezone.now() - timedelta(seconds=30))
    result = acd.acd_sweep()
    assert result["expired"] == 1


def test_an_accepted_call_is_announced_to_queues_and_supervisors(world, monkeypatch, django_capture_on_commit_callbacks):
    from answering import live

    pushed = []
    monkeypatch.setattr(live, "push", lambda group, payload: pushed.append((group, payload["type"])))
    call = _queued(world)
    _available(world.ben)
    with django_capture_on_commit_callbacks(execute=True):
        assert acd.call_accept(call_id=call.pk, agent=world.ben) is not None
    assert ("client.bobsplumbing.queue", "queue") in pushed
    assert ("supervisors", "agent") in pushed


def test_calls_ended_past_the_retention_leave_the_live_table_and_nothing_else_does(world, settings):
    from django_tenants.utils import schema_context

    from answering.models import CallRecord

    settings.ACD_SESSION_RETENTION_DAYS = 7
    now = timezone.now()

    def call(state, *, ended_days_ago=None, arrived_days_ago=0):
        return CallSession.objects.create(
            call_sid="CA" + uuid.uuid4().hex, client=world.bobs, to_number="+12125550111", from_number="+12125559876",
            state=state, arrived_at=now - timedelta(days=arrived_days_ago),
            ended_at=None if ended_days_ago is None else now - timedelta(days=ended_days_ago))

    gone = [call(state, ended_days_ago=8, arrived_days_ago=8)
            for state in (State.COMPLETED, State.ABANDONED, State.VOICEMAIL, State.TRANSFERRED, State.FAILED)]
    gone.append(call(State.FAILED, arrived_days_ago=9))  # failed before it began: no end time
    kept = [call(State.COMPLETED, ended_days_ago=6, arrived_days_ago=6),
            call(State.WRAP_UP, ended_days_ago=8, arrived_days_ago=8),  # wrap-up not over: still live
            call(State.QUEUED, arrived_days_ago=8), call(State.IN_MENU, arrived_days_ago=8)]
    with schema_context("bobsplumbing"):
        CallRecord.objects.create(call_sid=gone[0].call_sid, caller=gone[0].from_number, number_dialed="+12125550111",
                                  arrived_at=gone[0].arrived_at, outcome="answered")

    assert acd.call_sessions_prune(batch=2) == len(gone)
    assert set(CallSession.objects.values_list("pk", flat=True)) == {session.pk for session in kept}
    with schema_context("bobsplumbing"):
        assert CallRecord.objects.filter(call_sid=gone[0].call_sid).exists()
    assert acd.call_sessions_prune() == 0
