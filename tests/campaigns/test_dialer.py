"""The dialer end to end, in-process: the tick, the gate before every dial, the simulated
callee (person, machine, unknown, no answer, busy, failed) with Twilio's callbacks in order,
the agent connected or the safe-harbour message, the drop after the beep, retries by outcome,
calls per second, blended agents, the abandonment cap, and a crash between commit and dial.
"""

from __future__ import annotations

import datetime as dt
import json
import zoneinfo

import pytest
from django.test import Client as HttpClient
from django.utils import timezone
from django_tenants.utils import schema_context

from answering.acd.models import AgentPresence, CallSession, DialerCampaign
from answering.twilio import gateway, simulator
from answering.twilio.gateway import SIM_OUTBOX
from answering.twilio.simulator import answer_dial
from campaigns.models import CallAttempt, Campaign, Contact, ContactList
from campaigns.services import dialer, lifecycle, outcomes
from compliance.models import Consent, DncEntry
from compliance.rules import OptOutSource
from switchboard.redis_clients import redis_client
from tenants.selectors import client_current
from tests.campaigns.conftest import NUMBERS, _clear_simulator, dialed
from tests.conftest import PLATFORM_HOST

pytestmark = pytest.mark.django_db

O = CallAttempt.Outcome
NY = zoneinfo.ZoneInfo("America/New_York")
# A Tuesday afternoon in New York: inside every calling window (the gate judges at this time).
AFTERNOON = dt.datetime(2026, 6, 2, 14, 0, tzinfo=NY)


@pytest.fixture
def campaign(world, eager_celery, settings, afternoon):
    """A running progressive campaign of Bob's (informational, detection on, a spoken drop),
    with a list of contacts who gave consent; Ben available in outbound mode."""
    settings.DIALER_CALLS_PER_SECOND = 50  # the calls-per-second test sets its own
    _clear_simulator()
    with schema_context("bobsplumbing"):
        c = lifecycle.campaign_create(name="Follow-up", purpose="informational", mode=Campaign.Mode.PROGRESSIVE,
                                      window_start=dt.time(9), window_end=dt.time(20), days=[0, 1, 2, 3, 4, 5, 6],
                                      max_attempts=3)
        people = ContactList.objects.create(campaign=c, name="Leads", priority=1)
        for number in NUMBERS[:5]:
            Contact.objects.create(campaign=c, list=people, number=number, first_name="Pat", time_zone="America/New_York")
            Consent.objects.create(number=number, kind=Consent.Kind.EXPRESS, source=Consent.Source.WEB_FORM,
                                   obtained_at=AFTERNOON - dt.timedelta(days=10))
        lifecycle.campaign_start(campaign=c, by="tests")
    AgentPresence.objects.update_or_create(agent=world.ben, defaults={
        "status": AgentPresence.Status.AVAILABLE, "mode": "outbound", "idle_since": timezone.now()})
    yield c
    _clear_simulator()


def _row(campaign) -> DialerCampaign:
    return DialerCampaign.objects.get(client__schema_name="bobsplumbing", campaign_id=campaign.pk)


def tick(campaign, now=AFTERNOON):
    return dialer.campaign_tick(_row(campaign), now=now)


@pytest.fixture
def callee(django_capture_on_commit_callbacks):
    """callee(record, behaviour) -> the simulated call, played in-process (on-commit hooks run
    after each webhook, as they would after its commit)."""
    client = HttpClient()
    plain = simulator.test_client_transport(client, PLATFORM_HOST)

    def send(url, params, headers):
        with django_capture_on_commit_callbacks(execute=True):
            return plain(url, params, headers)

    def play(record, behaviour, **options):
        options.setdefault("hold_poll_seconds", 0.05)
        options.setdefault("max_conference_seconds", 10)
        return answer_dial(record=record, transport=send, behaviour=behaviour, say=lambda line: None, **options)

    return play


def _attempts(campaign):
    with schema_context("bobsplumbing"):
        return list(CallAttempt.objects.filter(campaign=campaign).order_by("pk"))


def _contact(number):
    with schema_context("bobsplumbing"):
        return Contact.objects.get(number=number)


def test_progressive_places_one_call_per_ready_agent_after_the_gate(campaign):
    result = tick(campaign)
    assert result.placed == 1  # one agent ready: one line
    [attempt] = _attempts(campaign)
    assert attempt.outcome == O.PENDING and attempt.twilio_sid and attempt.ledger_id
    assert [r["to"] for r in dialed()] == [attempt.number]
    assert dialed()[0]["amd_callback"].endswith(f"/twilio/outbound/bobsplumbing/{attempt.pk}/amd")
    assert dialed()[0]["ring_seconds"] >= 15
    assert _contact(attempt.number).status == Contact.Status.IN_FLIGHT
    # The line is in flight: the next tick places nothing more for one agent.
    assert tick(campaign).placed == 0


def test_a_person_is_connected_to_the_ready_agent(campaign, callee, world):
    tick(campaign)
    [record] = dialed()
    call = callee(record, "person")
    [attempt] = _attempts(campaign)
    assert attempt.outcome == O.LIVE_ANSWERED and attempt.agent_id == world.ben.pk
    assert attempt.answered_by == "human" and attempt.connected_at is not None
    session = CallSession.objects.get(call_sid=record["sid"])
    assert session.direction == CallSession.Direction.OUTBOUND and session.attempt_id == attempt.pk
    assert session.agent_id == world.ben.pk
    assert call.outcome == "answered"  # the simulator's agent leg joined the conference
    session.refresh_from_db()
    assert session.state in (CallSession.State.WRAP_UP, CallSession.State.COMPLETED)  # the call ended: wrap-up
    CallSession.objects.filter(pk=session.pk).delete()


def test_unknown_detection_is_treated_as_a_person(campaign, callee, world):
    tick(campaign)
    callee(dialed()[0], "unknown")
    [attempt] = _attempts(campaign)
    assert attempt.outcome == O.LIVE_ANSWERED and attempt.answered_by == "unknown"
    CallSession.objects.filter(attempt_id=attempt.pk).delete()


def test_no_free_agent_plays_the_safe_harbour_message_and_counts_abandoned(campaign, callee, world):
    tick(campaign)
    AgentPresence.objects.filter(agent=world.ben).update(status=AgentPresence.Status.BREAK)  # gone before the answer
    call = callee(dialed()[0], "person")
    [attempt] = _attempts(campaign)
    assert attempt.outcome == O.ABANDONED
    heard = " ".join(call.said)
    assert "Bob's Plumbing" in heard and "212 555 0111" in heard and "do-not-call" in heard
    contact = _contact(attempt.number)
    assert contact.status == Contact.Status.RETRY  # abandoned: tried again after its wait
    assert not CallSession.objects.filter(call_sid=attempt.twilio_sid).exists()


def test_a_machine_gets_the_voicemail_drop_after_the_beep(campaign, callee):
    tick(campaign)
    call = callee(dialed()[0], "machine")
    [attempt] = _attempts(campaign)
    assert attempt.outcome == O.MACHINE and attempt.answered_by == "machine_end_beep"
    assert any("Bob's Plumbing calling" in line for line in call.said)  # the drop, played after the beep
    contact = _contact(attempt.number)
    assert contact.status == Contact.Status.RETRY
    wait = (contact.next_attempt_at - attempt.started_at).total_seconds() / 60
    assert 24 * 60 - 2 < wait < 24 * 60 + 2  # machine: next day


def test_a_machine_gets_no_drop_where_the_gate_refuses_a_prerecorded_message(campaign, callee):
    with schema_context("bobsplumbing"):
        Campaign.objects.filter(pk=campaign.pk).update(mode=Campaign.Mode.PREVIEW)
        campaign.refresh_from_db()
        contact = Contact.objects.get(number=NUMBERS[0])
        Consent.objects.filter(number=NUMBERS[0]).delete()  # a live-voice call needs none; a drop does
        attempt = dialer.attempt_place(campaign=campaign, contact=contact, agent_id=None)
    assert attempt is not None
    call = callee(dialed()[0], "machine")
    [attempt] = _attempts(campaign)
    assert attempt.outcome == O.MACHINE and "no message left" in attempt.detail
    assert not any("calling" in line for line in call.said)


@pytest.mark.parametrize("behaviour, outcome, minutes", [
    ("busy", O.BUSY, 10), ("no-answer", O.NO_ANSWER, 120), ("failed", O.FAILED, 24 * 60)])
def test_unanswered_calls_go_to_the_retry_schedule_by_outcome(campaign, callee, behaviour, outcome, minutes):
    tick(campaign)
    callee(dialed()[0], behaviour)
    [attempt] = _attempts(campaign)
    assert attempt.outcome == outcome
    contact = _contact(attempt.number)
    assert contact.status == Contact.Status.RETRY and contact.attempts == 1
    wait = (contact.next_attempt_at - attempt.started_at).total_seconds() / 60
    assert minutes - 2 < wait < minutes + 2
    # Waiting for its retry: not picked again before then, picked after.
    assert tick(campaign).placed == 1 and _attempts(campaign)[-1].number != attempt.number


def test_a_contact_runs_out_of_attempts(campaign, callee):
    with schema_context("bobsplumbing"):
        Contact.objects.exclude(number=NUMBERS[0]).delete()
    for n in range(3):
        assert tick(campaign, now=AFTERNOON + dt.timedelta(hours=2 * n)).placed == 1
        callee(dialed()[-1], "busy")
    contact = _contact(NUMBERS[0])
    assert contact.status == Contact.Status.EXHAUSTED and contact.attempts == 3
    assert tick(campaign, now=AFTERNOON + dt.timedelta(hours=10)).placed == 0


def test_the_gate_is_asked_before_every_dial_and_refused_numbers_never_ring(campaign, world):
    with schema_context("bobsplumbing"):
        DncEntry.objects.create(number=NUMBERS[0], source=OptOutSource.values[0], added_by="tests")
        Consent.objects.filter(number=NUMBERS[1]).delete()  # autodialed: consent needed
        Contact.objects.filter(number__in=NUMBERS[2:5]).update(status=Contact.Status.DONE)
    AgentPresence.objects.filter(agent=world.ben).update(status=AgentPresence.Status.AVAILABLE)
    assert tick(campaign).placed == 0
    assert dialed() == []  # counted at the gateway: nothing reached it
    assert _contact(NUMBERS[0]).status == Contact.Status.DNC
    blocked = _contact(NUMBERS[1])
    assert blocked.status == Contact.Status.BLOCKED and "consent" in blocked.reason


def test_nobody_is_called_outside_the_window_in_their_own_time_zone(campaign):
    with schema_context("bobsplumbing"):
        Contact.objects.filter(number=NUMBERS[0]).update(time_zone="America/Los_Angeles")
        Contact.objects.exclude(number=NUMBERS[0]).update(status=Contact.Status.DONE)
    # 10:00 in New York is 07:00 in Los Angeles: before the 09:00 window there.
    assert tick(campaign, now=dt.datetime(2026, 6, 2, 10, 0, tzinfo=NY)).placed == 0
    assert tick(campaign, now=dt.datetime(2026, 6, 2, 13, 0, tzinfo=NY)).placed == 1


def test_calls_per_second_budget_is_shared_by_every_tick(campaign, world, settings, monkeypatch):
    settings.DIALER_CALLS_PER_SECOND = 2
    _clear_simulator()
    # Whatever the pacing asks for (five lines here), the account's budget decides.
    monkeypatch.setattr(dialer.pacing, "pace", lambda p: dialer.pacing.Pacing(
        calls_now=5, lines_per_agent=5.0, mode="predictive", reason="test"))
    placed = tick(campaign).placed + tick(campaign).placed
    assert placed == 2  # however many lines the pacing wants, two call starts per second
    import time

    time.sleep(1.1)
    assert tick(campaign).placed >= 1


def test_a_blended_agent_counts_only_while_their_clients_have_nobody_waiting(campaign, world):
    AgentPresence.objects.filter(agent=world.ben).update(mode="blended")
    waiting = CallSession.objects.create(call_sid="CA" + "b" * 32, client=world.bobs, to_number="+12125550111",
                                         state=CallSession.State.QUEUED, queued_at=timezone.now())
    try:
        with schema_context("bobsplumbing"):
            assert dialer.campaign_agents(campaign, world.bobs).ready == []
        assert tick(campaign).placed == 0  # inbound first
    finally:
        waiting.delete()
    with schema_context("bobsplumbing"):
        assert dialer.campaign_agents(campaign, world.bobs).ready == [world.ben.pk]
    assert tick(campaign).placed == 1


@pytest.fixture
def charlies_campaign(campaign, world):
    """A second running progressive campaign, Charlie's, while only Ana — who serves both
    clients — is available in outbound mode (Ben, Bob's only, is offline)."""
    with schema_context("charlieclinic"):
        c = lifecycle.campaign_create(name="Recall", purpose="informational", mode=Campaign.Mode.PROGRESSIVE,
                                      window_start=dt.time(9), window_end=dt.time(20), days=[0, 1, 2, 3, 4, 5, 6],
                                      max_attempts=3)
        people = ContactList.objects.create(campaign=c, name="Patients", priority=1)
        for number in NUMBERS[5:8]:
            Contact.objects.create(campaign=c, list=people, number=number, first_name="Lee", time_zone="America/Chicago")
            Consent.objects.create(number=number, kind=Consent.Kind.EXPRESS, source=Consent.Source.WEB_FORM,
                                   obtained_at=AFTERNOON - dt.timedelta(days=10))
        lifecycle.campaign_start(campaign=c, by="tests")
    AgentPresence.objects.filter(agent=world.ben).update(status=AgentPresence.Status.OFFLINE)
    AgentPresence.objects.update_or_create(agent=world.ana, defaults={
        "status": AgentPresence.Status.AVAILABLE, "mode": "outbound", "idle_since": timezone.now()})
    return c


def _lines(schema: str) -> list[CallAttempt]:
    with schema_context(schema):
        return list(CallAttempt.objects.filter(outcome=O.PENDING))


def test_two_campaigns_never_dial_two_lines_for_one_agent_they_share(campaign, charlies_campaign):
    charlies_row = DialerCampaign.objects.get(client__schema_name="charlieclinic", campaign_id=charlies_campaign.pk)
    assert tick(campaign).placed == 1  # Bob's line counts on Ana
    assert dialer.campaign_tick(charlies_row, now=AFTERNOON).placed == 0
    assert tick(campaign).placed == 0
    assert dialer.campaign_tick(charlies_row, now=AFTERNOON).placed == 0
    assert len(_lines("bobsplumbing")) == 1 and _lines("charlieclinic") == []
    # Bob's line ends unanswered: Ana is free again, and the campaign that dialed longest ago
    # (Charlie's: it never has) goes first, so sharing an agent starves neither.
    with schema_context("bobsplumbing"):
        CallAttempt.objects.filter(outcome=O.PENDING).update(outcome=O.NO_ANSWER, ended_at=AFTERNOON)
    later = AFTERNOON + dt.timedelta(seconds=2)
    assert sum(r.placed for r in dialer.dialer_tick(now=later)) == 1
    assert len(_lines("charlieclinic")) == 1 and _lines("bobsplumbing") == []


def test_inbound_dispatch_skips_an_agent_in_outbound_mode(world):
    from answering.acd.services.dispatch import eligible_agents

    AgentPresence.objects.update_or_create(agent=world.ben, defaults={
        "status": AgentPresence.Status.AVAILABLE, "mode": "outbound", "idle_since": timezone.now()})
    session = CallSession(call_sid="CA" + "c" * 32, client=world.bobs, to_number="+12125550111", language="en")
    assert world.ben.pk not in [p.agent_id for p in eligible_agents(session)]
    AgentPresence.objects.filter(agent=world.ben).update(mode="blended")
    assert world.ben.pk in [p.agent_id for p in eligible_agents(session)]


def _abandonment_history(campaign, *, abandoned: int, live: int):
    with schema_context("bobsplumbing"):
        old = ContactList.objects.create(campaign=campaign, name="Old")
        for n in range(live):  # the last 30 days' person-answered calls, ``abandoned`` of them abandoned
            contact = Contact.objects.create(campaign=campaign, list=old, number=f"+1212555{n + 300:04d}",
                                             status=Contact.Status.DONE)
            CallAttempt.objects.create(campaign=campaign, contact=contact, number=contact.number, channel="autodialed",
                                       purpose="informational", started_at=AFTERNOON - dt.timedelta(days=2),
                                       outcome=O.ABANDONED if n < abandoned else O.LIVE_ANSWERED)


def test_over_the_abandonment_cap_predictive_drops_to_progressive_and_says_why(campaign):
    with schema_context("bobsplumbing"):
        Campaign.objects.filter(pk=campaign.pk).update(mode=Campaign.Mode.PREDICTIVE)
    _abandonment_history(campaign, abandoned=2, live=40)  # 5% over 30 days
    result = tick(campaign)
    assert result.pacing.mode == "progressive" and result.pacing.stop
    assert result.placed == 1  # one line for the one ready agent: the gate allows a progressive dial
    row = _row(campaign)
    assert row.mode == "progressive" and "Abandonment 5% over 30 days" in row.reason
    assert row.stats["configured_mode"] == "predictive"


def test_a_predictive_dial_the_gate_refuses_over_the_cap_stops_the_campaign(campaign, monkeypatch):
    with schema_context("bobsplumbing"):
        Campaign.objects.filter(pk=campaign.pk).update(mode=Campaign.Mode.PREDICTIVE)
    _abandonment_history(campaign, abandoned=2, live=40)
    # Were the pacing to dial predictively anyway, the gate refuses and the campaign stops.
    monkeypatch.setattr(dialer.pacing, "pace", lambda p: dialer.pacing.Pacing(
        calls_now=3, lines_per_agent=3.0, mode="predictive", reason="test"))
    assert tick(campaign).placed == 0
    assert dialed() == []
    with schema_context("bobsplumbing"):
        campaign.refresh_from_db()
    assert campaign.state == Campaign.State.PAUSED and "abandon" in campaign.state_reason.lower()
    assert not DialerCampaign.objects.filter(campaign_id=campaign.pk, client__schema_name="bobsplumbing").exists()


def test_a_crash_between_commit_and_dial_places_no_call_twice(campaign, monkeypatch):
    sent = []

    class Crash(Exception):
        pass

    real = gateway.SimulatedGateway.call_dial

    def dies_before_twilio(self, **kwargs):
        raise Crash("worker killed")

    monkeypatch.setattr(gateway.SimulatedGateway, "call_dial", dies_before_twilio)
    with pytest.raises(Crash):
        tick(campaign)
    [attempt] = _attempts(campaign)
    assert attempt.outcome == O.PENDING and attempt.twilio_sid == ""  # committed before the call
    # The sweep asks Twilio (nothing went out), gives the contact its attempt back.
    with schema_context("bobsplumbing"):
        dialer._sweep_schema(client_current(), timezone.now() + dt.timedelta(seconds=60))
    attempt = _attempts(campaign)[0]
    assert attempt.outcome == O.NOT_PLACED
    assert _contact(attempt.number).status == Contact.Status.RETRY and _contact(attempt.number).attempts == 0

    # This time Twilio took the call and the worker died before storing its SID.
    def dies_after_twilio(self, **kwargs):
        real(self, **kwargs)
        sent.append(kwargs["to"])
        raise Crash("worker killed after Twilio answered")

    monkeypatch.setattr(gateway.SimulatedGateway, "call_dial", dies_after_twilio)
    with pytest.raises(Crash):
        tick(campaign)
    monkeypatch.setattr(gateway.SimulatedGateway, "call_dial", real)
    pending = [a for a in _attempts(campaign) if a.outcome == O.PENDING]
    assert len(pending) == 1 and pending[0].twilio_sid == ""
    with schema_context("bobsplumbing"):
        dialer._sweep_schema(client_current(), timezone.now() + dt.timedelta(seconds=60))
    found = _attempts(campaign)[-1]
    assert found.outcome == O.PENDING and found.twilio_sid == dialed()[-1]["sid"]  # kept, not re-dialed
    assert tick(campaign).placed == 0  # the agent's line is that call
    assert [r["to"] for r in dialed()].count(sent[0]) == 1


def test_a_forged_outbound_webhook_is_refused(campaign):
    tick(campaign)
    [attempt] = _attempts(campaign)
    reply = HttpClient().post(f"/twilio/outbound/bobsplumbing/{attempt.pk}/amd",
                              {"CallSid": attempt.twilio_sid, "AnsweredBy": "human"}, HTTP_HOST=PLATFORM_HOST)
    assert reply.status_code == 403
    assert _attempts(campaign)[0].outcome == O.PENDING


def test_repeated_and_late_status_callbacks_change_nothing(campaign, callee):
    tick(campaign)
    record = dialed()[0]
    callee(record, "busy")
    [attempt] = _attempts(campaign)
    with schema_context("bobsplumbing"):
        outcomes.attempt_status(attempt=attempt, status="ringing", sequence=1)
        outcomes.attempt_status(attempt=attempt, status="completed", sequence=None)
    again = _attempts(campaign)[0]
    assert again.outcome == O.BUSY and again.twilio_status == "busy"
    assert _contact(attempt.number).attempts == 1


def test_local_presence_shows_the_clients_number_in_the_callees_area_code(campaign, world):
    from tenants.models import PhoneNumber

    chicago = PhoneNumber.objects.create(client=world.bobs, number="+13125550119", purpose="caller_id",
                                         twilio_account_sid="AC" + "d" * 32)
    try:
        with schema_context("bobsplumbing"):
            Contact.objects.filter(number=NUMBERS[0]).update(number="+13125550290", time_zone="America/Chicago")
            Consent.objects.create(number="+13125550290", kind=Consent.Kind.EXPRESS, source=Consent.Source.WEB_FORM,
                                   obtained_at=AFTERNOON - dt.timedelta(days=1))
            Contact.objects.exclude(number="+13125550290").update(status=Contact.Status.DONE)
        assert tick(campaign).placed == 1
        [record] = dialed()
        assert record["from"] == "+13125550119" and record["account_sid"] == "AC" + "d" * 32  # its own account
        with schema_context("bobsplumbing"):
            campaign.refresh_from_db()
            campaign.local_presence = False  # off: the campaign's or the client's first number
            assert dialer.caller_id_for(campaign, world.bobs, "+13125550290")[0] == "+13125550119"
            campaign.caller_id = "+12125550111"
            assert dialer.caller_id_for(campaign, world.bobs, "+13125550290") == ("+12125550111", "")
    finally:
        chicago.delete()


def test_a_text_campaign_sends_merged_texts_through_the_gate(campaign, world):
    with schema_context("bobsplumbing"):
        Campaign.objects.filter(pk=campaign.pk).update(channel=Campaign.Kind.SMS,
                                                       sms_text="Hi {first_name}, your {plan} renewal is due.")
        Contact.objects.filter(number=NUMBERS[0]).update(fields={"plan": "Gold"})
        Consent.objects.filter(number=NUMBERS[1]).delete()  # texts need consent: refused
    AgentPresence.objects.filter(agent=world.ben).delete()  # texts need no agent
    result = tick(campaign)
    texts = [json.loads(raw) for raw in redis_client(timeout=5).lrange(SIM_OUTBOX.format(kind="sms"), 0, -1)]
    assert result.placed == 4 and len(texts) == 4
    assert "Hi Pat, your Gold renewal is due." in [t["body"] for t in texts]
    assert NUMBERS[1] not in [t["to"] for t in texts] and _contact(NUMBERS[1]).status == Contact.Status.BLOCKED
    sms = next(a for a in _attempts(campaign) if a.number == NUMBERS[0])
    assert sms.channel == "sms"
    with schema_context("bobsplumbing"):
        outcomes.attempt_status(attempt=sms, status="delivered", sequence=None)
    assert next(a for a in _attempts(campaign) if a.number == NUMBERS[0]).outcome == O.SMS_SENT
    assert _contact(NUMBERS[0]).status == Contact.Status.DONE


def test_webhooks_for_an_unknown_client_or_attempt_answer_without_error(campaign):
    from answering.twilio.simulator import signature

    for path in ("/twilio/outbound/bobsplumbing/999999", "/twilio/outbound/nobody/1"):
        params = {"CallSid": "CA" + "e" * 32, "AccountSid": "AC" + "0" * 32, "CallStatus": "in-progress"}
        reply = HttpClient().post(path, params, HTTP_HOST=PLATFORM_HOST,
                                  HTTP_X_TWILIO_SIGNATURE=signature("http://localhost:8000" + path, params))
        assert reply.status_code == 200 and b"<Hangup" in reply.content
        status = HttpClient().post(path + "/status", params, HTTP_HOST=PLATFORM_HOST,
                                   HTTP_X_TWILIO_SIGNATURE=signature("http://localhost:8000" + path + "/status", params))
        assert status.status_code == 204


def test_the_wallboard_is_told_why_nothing_is_dialed(campaign):
    night = dt.datetime(2026, 6, 2, 4, 0, tzinfo=NY)
    assert tick(campaign, now=night).placed == 0
    assert "outside the calling window (09:00–20:00) in every contact's own time" in _row(campaign).reason
    with schema_context("bobsplumbing"):
        Contact.objects.update(status=Contact.Status.RETRY, next_attempt_at=AFTERNOON + dt.timedelta(hours=1))
    assert tick(campaign).placed == 0
    assert _row(campaign).reason.startswith("Nobody to call now")
