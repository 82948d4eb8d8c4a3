"""Exactly-once assignment with real concurrent transactions (committed data, many connections).

Not wrapped in a test transaction: twenty threads, each with its own connection, must
see the same committed call and race for it; the fixture cleans up after itself.
"""

from __future__ import annotations

import threading
import uuid
from datetime import timedelta

import pytest
from django.db import connection
from django.utils import timezone

from answering.acd import services as acd
from answering.acd.models import AgentPresence, CallSession
from answering.acd.services import dispatch
from tenants import services as tenant_services
from tenants.models import User

State = CallSession.State



@pytest.fixture
def twenty_agents(world, django_db_blocker):
    """Twenty committed agents serving Bob's plumbing (other threads must see them)."""
    with django_db_blocker.unblock():
        agents = []
        for n in range(20):
            user = tenant_services.user_create(email=f"racer{n}-{uuid.uuid4().hex[:6]}@switchboard.test", role="agent")
            tenant_services.agent_skills_set(user=user, clients=[world.bobs], languages=["en"])
            agents.append(user)
        call = CallSession.objects.create(
            call_sid="CA" + uuid.uuid4().hex, client=world.bobs, to_number="+12125550111",
            from_number="+12125559876", state=State.QUEUED, queued_at=timezone.now() - timedelta(seconds=5))
        yield agents, call
        CallSession.objects.filter(pk=call.pk).delete()
        from django_tenants.utils import schema_context

        from answering.models import CallRecord

        with schema_context("bobsplumbing"):
            CallRecord.objects.filter(call_sid=call.call_sid).delete()
        User.objects.filter(pk__in=[a.pk for a in agents]).delete()


def test_twenty_agents_accepting_one_call_at_once_assign_it_exactly_once(twenty_agents, django_db_blocker):
    agents, call = twenty_agents
    barrier = threading.Barrier(len(agents))
    results: dict[int, bool] = {}

    def accept(agent):
        with django_db_blocker.unblock():
            try:
                barrier.wait()
                results[agent.pk] = acd.call_accept(call_id=call.pk, agent=agent) is not None
            finally:
                connection.close()

    threads = [threading.Thread(target=accept, args=(agent,)) for agent in agents]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join(timeout=30)
    winners = [pk for pk, won in results.items() if won]
    assert len(results) == 20 and len(winners) == 1
    with django_db_blocker.unblock():
        session = CallSession.objects.get(pk=call.pk)
        assert session.state == State.CONNECTED and session.agent_id == winners[0]
        on_call = AgentPresence.objects.filter(agent__in=agents, status="on_call").values_list("agent_id", flat=True)
        assert list(on_call) == winners


def test_copies_of_a_calls_first_webhook_arriving_at_once_make_one_call_and_one_answer(world, django_db_blocker):
    """Twilio retrying while the first attempt is still running: the copies wait on the
    first one's claim and get its answer; one session, one record."""
    from django.test import Client
    from django_tenants.utils import schema_context

    from answering.acd.models import TwilioRequest
    from answering.models import CallRecord
    from answering.twilio.simulator import new_call_sid, signature

    params = {"CallSid": new_call_sid(), "AccountSid": "AC" + "0" * 32, "From": "+12125559876",
              "To": "+12125550111", "CallStatus": "ringing", "Direction": "inbound"}
    sign = signature("http://localhost:8000/twilio/voice/incoming", params, None)
    copies = 8
    barrier = threading.Barrier(copies)
    replies = []

    def post():
        with django_db_blocker.unblock():
            try:
                barrier.wait()
                replies.append(Client().post("/twilio/voice/incoming", params, HTTP_HOST="localhost",
                                             HTTP_X_TWILIO_SIGNATURE=sign))
            finally:
                connection.close()

    threads = [threading.Thread(target=post) for _ in range(copies)]
    for thread in threads:
        thread.start()
    for thread in threads:
        thread.join()
    with django_db_blocker.unblock():
        try:
            assert [r.status_code for r in replies] == [200] * copies
            assert len({r.content for r in replies}) == 1 and b"<Response>" in replies[0].content
            assert CallSession.objects.filter(call_sid=params["CallSid"]).count() == 1
            with schema_context("bobsplumbing"):
                assert CallRecord.objects.filter(call_sid=params["CallSid"]).count() == 1
        finally:
            CallSession.objects.filter(call_sid=params["CallSid"]).delete()
            with schema_context("bobsplumbing"):
                CallRecord.objects.filter(call_sid=params["CallSid"]).delete()
            TwilioRequest.objects.filter(path="/twilio/voice/incoming").delete()


def test_an_agent_freed_while_another_dispatch_holds_the_call_is_still_offered_it(world, django_db_blocker, monkeypatch):
    """Two dispatches at once: one is still deciding about the queued call (and has found
    nobody) when an agent's change to available commits and dispatches too. The second must
    not skip the call the first holds: the caller would wait, the agent idle, until the sweep."""
    with django_db_blocker.unblock():
        agent = tenant_services.user_create(email=f"late-{uuid.uuid4().hex[:6]}@switchboard.test", role="agent")
        tenant_services.agent_skills_set(user=agent, clients=[world.bobs], languages=["en"])
        call = CallSession.objects.create(
            call_sid="CA" + uuid.uuid4().hex, client=world.bobs, to_number="+12125550111",
            from_number="+12125559876", state=State.QUEUED, queued_at=timezone.now())
    found_nobody, resume = threading.Event(), threading.Event()
    real = acd.eligible_agents

    def eligible(session):
        if threading.current_thread().name != "first-dispatch" or session.pk != call.pk:
            return real(session)
        assert real(session).first() is None  # the agent is not available yet
        found_nobody.set()
        resume.wait(timeout=10)
        return real(session).none()  # ...and that is what this dispatch decided

    monkeypatch.setattr(dispatch, "eligible_agents", eligible)  # where the dispatcher looks it up

    def first_dispatch():
        with django_db_blocker.unblock():
            try:
                acd.acd_dispatch()
            finally:
                connection.close()

    first = threading.Thread(target=first_dispatch, name="first-dispatch")
    first.start()
    try:
        assert found_nobody.wait(timeout=10)
        threading.Timer(0.3, resume.set).start()
        with django_db_blocker.unblock():
            acd.agent_status_set(agent=agent, status="available")  # commits, then dispatches
        first.join(timeout=10)
        with django_db_blocker.unblock():
            session = CallSession.objects.get(pk=call.pk)
            assert session.state == State.OFFERED and session.offered_to_id == agent.pk
    finally:
        resume.set()
        first.join(timeout=10)
        with django_db_blocker.unblock():
            CallSession.objects.filter(pk=call.pk).delete()
            from django_tenants.utils import schema_context

            from answering.models import CallRecord

            with schema_context("bobsplumbing"):
                CallRecord.objects.filter(call_sid=call.call_sid).delete()
            User.objects.filter(pk=agent.pk).delete()
