"""The call's conference and the agent's controls, played by the simulator in-process (signed
webhooks): the agent's leg, hold (the client's hold audio), patching the caller to whoever is
on call now (warm and blind; answered, declined, unanswered — on the message's timeline),
transfers, a failed agent leg, the voice token, and a subaccount client's commands."""

from __future__ import annotations

import time
from datetime import timedelta
from http import HTTPStatus

import pytest
from django.conf import settings
from django.utils import timezone
from django_tenants.utils import schema_context

from answering.acd import services as acd
from answering.acd.models import AgentPresence, CallSession
from answering.acd.services import controls
from answering.models import DeliveryEvent, Message, Prompt
from answering.oncall import services as oncall
from answering.twilio import gateway
from switchboard.redis_clients import redis_client
from tests.answering.conftest import BOB_NUMBER

pytestmark = pytest.mark.django_db
TECH = "+12125550177"


@pytest.fixture(autouse=True)
def no_browser_phone(world):
    """No console's simulated phone registered: the simulator's own agent answers."""
    for agent in (world.ben, world.ana):
        redis_client(timeout=2).delete(controls.SIM_DEVICE.format(identity=controls.agent_identity(agent.pk)))


@pytest.fixture
def tech(world):
    """Tom is on call now for Bob's Plumbing's technicians (an override covering this hour)."""
    with schema_context("bobsplumbing"):
        team = oncall.team_create(name="Technicians")
        person = oncall.person_save(name="Tom Tech", phone=TECH)
        now = timezone.now()
        oncall.override_create(team=team, person=person, starts=now - timedelta(hours=1), ends=now + timedelta(hours=1))
    return person


def _connected_call(world, simulate, available, on_commit, act, **kwargs):
    """A caller queued at Bob's, taken by Ben; ``act(call, session)`` runs on each poll of the
    conference (with its on-commit hooks) once the conference is up and Ben's leg joined."""
    available(world.ben)
    done = {"acted": False}

    def take(call):
        session = CallSession.objects.get(call_sid=call.call_sid)
        if session.state == "offered":
            assert acd.call_accept(call_id=session.pk, agent=world.ben) is not None

    def in_conference(call):
        session = CallSession.objects.get(call_sid=call.call_sid)
        conf = session.conference
        if conf.get("sid") and conf.get("agent_joined") or done["acted"]:
            with on_commit():
                done["acted"] = act(call, session) is not False or done["acted"]

    call = simulate(BOB_NUMBER, digits=["2"], on_hold=take, on_conference=in_conference, max_conference_seconds=15,
                    **kwargs)
    return call


def test_an_accepted_caller_meets_the_agent_in_the_calls_conference(world, simulate, available, on_commit):
    seen = {}

    def hang_up(call, session):
        seen.update(session.conference)
        call.hang_up()

    call = _connected_call(world, simulate, available, on_commit, hang_up)
    assert call.run() == "answered"
    assert seen["sid"] == call.conference_sid and seen["agent_leg"].startswith("CA") and seen["agent_joined"]
    # Before the agent's leg joined, the caller heard the hold audio (the conference's wait URL).
    assert call.heard[0] == "say:Please hold." and call.heard[1] == f"play:{gateway_music()}"
    session = CallSession.objects.get(call_sid=call.call_sid)
    assert session.state == "wrap_up" and session.agent_id == world.ben.pk


def gateway_music() -> str:
    from answering.twilio.twiml import DEFAULT_HOLD_MUSIC

    return DEFAULT_HOLD_MUSIC


def test_hold_plays_the_clients_hold_audio_and_resume_brings_the_caller_back(world, simulate, available, on_commit):
    with schema_context("bobsplumbing"):
        Prompt.objects.update_or_create(key="hold", language="en",
                                        defaults={"audio_url": "https://bobs.example.com/hold.mp3", "text": ""})
    steps = []

    def hold_then_resume(call, session):
        if not steps:
            acd.call_control(agent=world.ben, content={"action": "hold", "call": session.pk})
            steps.append("held")
        elif steps == ["held"] and call.on_hold_now:
            assert CallSession.objects.get(pk=session.pk).conference["held"] is True
            reply = acd.call_control(agent=world.ben, content={"action": "resume", "call": session.pk})
            assert reply["held"] is False
            steps.append("resumed")
        elif steps == ["held", "resumed"] and not call.on_hold_now:
            acd.call_control(agent=world.ben, content={"action": "hangup", "call": session.pk})
            steps.append("hung up")

    call = _connected_call(world, simulate, available, on_commit, hold_then_resume)
    assert call.run() == "answered"
    assert steps == ["held", "resumed", "hung up"]
    # The client's own hold recording, looped: what the caller heard while held.
    assert call.heard.count("play:https://bobs.example.com/hold.mp3") >= 2


def test_the_console_sees_who_is_on_call_now_for_the_client(world, tech, simulate, available, on_commit):
    replies = []

    def look(call, session):
        replies.append(acd.call_control(agent=world.ben, content={"action": "controls", "call": session.pk}))
        call.hang_up()

    _connected_call(world, simulate, available, on_commit, look).run()
    assert replies[0]["on_call"] == [{"team": "Technicians", "person": tech.pk, "name": "Tom Tech", "number": TECH}]
    assert replies[0]["ready"] and replies[0]["third"] is None


def _message_for(call_sid: str) -> Message:
    with schema_context("bobsplumbing"):
        return Message.objects.create(call_sid=call_sid, caller="+12125559876", fields={"name": "Pat"})


def _timeline(call_sid: str) -> list[tuple[str, str]]:
    with schema_context("bobsplumbing"):
        return list(DeliveryEvent.objects.filter(message__call_sid=call_sid).values_list("status", "detail"))


def test_a_warm_patch_announces_the_caller_then_hands_them_to_the_on_call_person(world, tech, simulate, available,
                                                                                 on_commit):
    steps = []

    def patch(call, session):
        conf = CallSession.objects.get(pk=session.pk).conference
        if not steps:
            _message_for(call.call_sid)  # the agent saved the message, then patches the caller
            reply = acd.call_control(agent=world.ben, content={"action": "transfer", "call": session.pk,
                                                               "person": tech.pk, "warm": True})
            assert reply["third"]["name"] == "Tom Tech" and reply["held"] is True
            steps.append("dialed")
        elif steps == ["dialed"] and (conf.get("third") or {}).get("state") == "talking":
            # The agent speaks to Tom while the caller holds, then joins them.
            assert call.on_hold_now and conf["held"]
            acd.call_control(agent=world.ben, content={"action": "transfer_complete", "call": session.pk})
            steps.append("joined")
        return bool(steps)

    call = _connected_call(world, simulate, available, on_commit, patch, third_party="answers")
    assert call.run() == "patched"
    assert steps == ["dialed", "joined"]
    assert not call.on_hold_now  # off hold for Tom
    timeline = _timeline(call.call_sid)
    assert timeline[0] == ("patched", f"Patch to Tom Tech ({TECH}): patched")
    # Tom spoke to the caller: that is his acknowledgement, and the escalation stops.
    assert timeline[1] == ("acknowledged", "By Tom Tech (patched through to them by the agent).")
    with schema_context("bobsplumbing"):
        message = Message.objects.get(call_sid=call.call_sid)
    assert (message.acknowledged_by, message.acknowledged_via) == ("Tom Tech", "patch")
    session = CallSession.objects.get(call_sid=call.call_sid)
    assert session.state == "wrap_up"  # Ben's part ended when he handed the caller over
    assert AgentPresence.objects.get(agent=world.ben).reason.startswith("Patched to Tom Tech.")


def test_a_declined_patch_goes_on_the_timeline_and_the_caller_is_back_with_the_agent(world, tech, simulate, available,
                                                                                     on_commit):
    steps = []

    def patch(call, session):
        conf = CallSession.objects.get(pk=session.pk).conference
        if not steps:
            acd.call_control(agent=world.ben, content={"action": "transfer", "call": session.pk,
                                                       "person": tech.pk, "warm": True})
            steps.append("dialed")
        elif steps == ["dialed"] and not conf.get("third") and not call.on_hold_now:
            steps.append("back")
            call.hang_up()
        return bool(steps)

    call = _connected_call(world, simulate, available, on_commit, patch, third_party="declines")
    assert call.run() == "answered"
    assert steps == ["dialed", "back"]
    # No message yet when Tom declined: the outcome waited on the call, and goes on the
    # message's timeline when the message is saved.
    assert _timeline(call.call_sid) == []
    _message_for(call.call_sid)
    acd.timeline_flush(CallSession.objects.get(call_sid=call.call_sid))
    assert _timeline(call.call_sid) == [("patch declined", f"Patch to Tom Tech ({TECH}): declined (completed)")]


def test_an_unanswered_patch_goes_on_the_timeline(world, tech, simulate, available, on_commit):
    steps = []

    def patch(call, session):
        if not steps:
            _message_for(call.call_sid)
            acd.call_control(agent=world.ben, content={"action": "transfer", "call": session.pk,
                                                       "person": tech.pk, "warm": False})
            steps.append("dialed")
        elif not CallSession.objects.get(pk=session.pk).conference.get("third"):
            call.hang_up()
        return True

    call = _connected_call(world, simulate, available, on_commit, patch, third_party="no-answer")
    call.run()
    assert _timeline(call.call_sid) == [("patch no answer", f"Patch to Tom Tech ({TECH}): no answer (no-answer)")]


def test_a_blind_transfer_to_a_number_hands_the_caller_over_when_they_answer(world, simulate, available, on_commit):
    steps = []

    def transfer(call, session):
        if not steps:
            _message_for(call.call_sid)
            reply = acd.call_control(agent=world.ben, content={"action": "transfer", "call": session.pk,
                                                               "to": "(212) 555-0199", "warm": False})
            assert reply["third"]["to"] == "+12125550199" and reply["third"]["kind"] == "transfer"
            steps.append("dialed")
        return True

    call = _connected_call(world, simulate, available, on_commit, transfer)
    assert call.run() == "patched"  # the caller talks with whoever answered, without the agent
    assert _timeline(call.call_sid) == [("transferred", "Transfer to +12125550199 (+12125550199): transferred")]
    assert CallSession.objects.get(call_sid=call.call_sid).state == "wrap_up"


def test_a_transfer_to_something_not_a_number_is_refused_in_words(world, simulate, available, on_commit):
    replies = []

    def transfer(call, session):
        replies.append(acd.call_control(agent=world.ben, content={"action": "transfer", "call": session.pk,
                                                                  "to": "tomorrow", "warm": False}))
        call.hang_up()

    _connected_call(world, simulate, available, on_commit, transfer).run()
    assert replies == [{"type": "error", "message": "'tomorrow' is not a phone number."}]


def test_controls_of_a_call_that_is_not_the_agents_are_refused(world, simulate, available, on_commit):
    replies = []

    def other_agent(call, session):
        replies.append(acd.call_control(agent=world.ana, content={"action": "hold", "call": session.pk}))
        call.hang_up()

    _connected_call(world, simulate, available, on_commit, other_agent).run()
    assert replies == [{"type": "error", "message": "That call is not connected to you."}]


def test_an_agent_leg_nobody_answers_puts_the_caller_back_in_the_queue(world, simulate, available, on_commit):
    available(world.ben)
    phases = []

    def take_once(call):
        session = CallSession.objects.get(call_sid=call.call_sid)
        if session.state == "offered" and not phases:
            phases.append("accepted")
            assert acd.call_accept(call_id=session.pk, agent=world.ben) is not None
        elif session.state == "queued" and world.ben.pk in session.passed_over:
            phases.append("back in the queue")
            call.hang_up_in_queue_after = 0

    call = simulate(BOB_NUMBER, digits=["2"], on_hold=take_once, agent_answers=False)
    assert call.run() == "abandoned"
    assert phases[:2] == ["accepted", "back in the queue"]
    assert "POST /twilio/voice/requeue/" + call.call_sid + " -> 200" in call.log


# --- The voice token -----------------------------------------------------------------------------

def test_in_simulate_mode_the_voice_token_is_the_simulated_phones(world, logged_in, settings):
    settings.TWILIO_MODE = "simulate"
    settings.TWILIO_API_KEY_SID = ""  # nothing to sign with: the simulated phone needs nothing
    body = logged_in(world.ben, "localhost").get("/agent/voice-token").json()
    assert body == {"identity": f"agent-{world.ben.pk}", "token": "simulated", "ttl": 3600, "simulated": True}


def test_in_live_mode_the_voice_token_is_twilios(world, logged_in, settings):
    import jwt

    settings.TWILIO_MODE = "live"
    settings.TWILIO_API_KEY_SID = ""
    refused = logged_in(world.ben, "localhost").get("/agent/voice-token")
    assert refused.status_code == HTTPStatus.SERVICE_UNAVAILABLE and "TWILIO_API_KEY_SID" in refused.json()["error"]
    settings.TWILIO_API_KEY_SID, settings.TWILIO_API_KEY_SECRET = "SK" + "1" * 32, "secret"
    settings.TWILIO_TWIML_APP_SID = "AP" + "2" * 32
    body = logged_in(world.ben, "localhost").get("/agent/voice-token").json()
    assert body["simulated"] is False and body["ttl"] == 3600
    claims = jwt.decode(body["token"], "secret", algorithms=["HS256"])
    assert claims["grants"]["identity"] == f"agent-{world.ben.pk}" and 3590 < claims["exp"] - time.time() <= 3600


# --- Subaccounts -----------------------------------------------------------------------------------

class _Recorder:
    def __init__(self):
        self.calls = []

    def __getattr__(self, name):
        def record(*args, **kwargs):
            self.calls.append((name, args, kwargs))
            return gateway.Sent(sid="CA" + "e" * 32, status="queued")
        return record


def test_a_subaccount_clients_call_is_redirected_and_ended_on_its_own_account(world, monkeypatch, on_commit):
    """Twilio answers 404 for a subaccount's call under the platform's /Accounts/{SID}/."""
    from django.utils import timezone as tz

    sub = "AC" + "5" * 32
    recorder = _Recorder()
    monkeypatch.setattr(gateway, "get", lambda: recorder)
    session = CallSession.objects.create(call_sid="CA" + "f" * 32, account_sid=sub, client=world.bobs,
                                         to_number=BOB_NUMBER, state="queued", queued_at=tz.now())
    with on_commit():
        assert acd.call_accept(call_id=session.pk, agent=world.ben) is not None
    name, args, kwargs = recorder.calls[0]
    assert name == "call_redirect" and args[0] == session.call_sid and kwargs == {"account_sid": sub}
    with on_commit():
        controls.agent_leg_dial(CallSession.objects.get(pk=session.pk))
    name, _, kwargs = recorder.calls[1]
    assert name == "participant_add" and kwargs["account_sid"] == sub
    assert kwargs["to"] == f"client:agent-{world.ben.pk}" and kwargs["conference"] == "call-" + session.call_sid
    CallSession.objects.filter(pk=session.pk).update(conference={"sid": "CF" + "1" * 32})
    controls.call_hangup(call_id=session.pk, agent=world.ben)
    assert recorder.calls[2] == ("call_end", (session.call_sid,), {"account_sid": sub})


def test_a_caller_back_from_a_failed_agent_leg_is_connected_to_the_next_agent(world, simulate, available, on_commit):
    """Connecting again is a new request (not the first one's stored answer): the next
    agent's leg is dialed."""
    available(world.ben)
    legs = []

    def take(call):
        session = CallSession.objects.get(call_sid=call.call_sid)
        if session.state == "offered" and not legs:
            legs.append("ben")
            assert acd.call_accept(call_id=session.pk, agent=world.ben) is not None
        elif session.state in ("queued", "offered") and legs == ["ben"] and world.ben.pk in session.passed_over:
            legs.append("ana")
            call.agent_answers = True
            assert acd.call_accept(call_id=session.pk, agent=world.ana) is not None

    def talk(call):
        session = CallSession.objects.get(call_sid=call.call_sid)
        if session.conference.get("agent_joined"):
            assert session.agent_id == world.ana.pk
            call.hang_up()

    call = simulate(BOB_NUMBER, digits=["2"], on_hold=take, on_conference=talk, agent_answers=False,
                    max_conference_seconds=10)
    assert call.run() == "answered"
    assert legs == ["ben", "ana"]


def test_a_caller_who_hangs_up_during_a_warm_patch_did_not_see_the_patch_declined(world, tech, simulate, available,
                                                                                   on_commit):
    steps = []

    def patch(call, session):
        third = CallSession.objects.get(pk=session.pk).conference.get("third") or {}
        if not steps:
            _message_for(call.call_sid)
            acd.call_control(agent=world.ben, content={"action": "transfer", "call": session.pk,
                                                       "person": tech.pk, "warm": True})
            steps.append("dialed")
        elif third.get("state") == "talking":
            call.hang_up()  # while the agent announces them to Tom
        return True

    call = _connected_call(world, simulate, available, on_commit, patch, third_party="answers")
    call.run()
    assert _timeline(call.call_sid) == [
        ("patch caller hung up", f"Patch to Tom Tech ({TECH}): caller hung up (completed)")]


def test_the_agent_can_give_up_on_a_warm_transfer_and_has_the_caller_back(world, simulate, available, on_commit):
    steps = []

    def transfer(call, session):
        conf = CallSession.objects.get(pk=session.pk).conference
        if not steps:
            _message_for(call.call_sid)
            acd.call_control(agent=world.ben, content={"action": "transfer", "call": session.pk,
                                                       "to": "+12125550199", "warm": True})
            steps.append("dialed")
        elif steps == ["dialed"] and (conf.get("third") or {}).get("state") == "talking":
            reply = acd.call_control(agent=world.ben, content={"action": "transfer_cancel", "call": session.pk})
            assert reply["third"] is None and reply["held"] is False
            steps.append("cancelled")
        elif steps == ["dialed", "cancelled"] and not call.on_hold_now:
            steps.append("back")
            call.hang_up()
        return True

    call = _connected_call(world, simulate, available, on_commit, transfer)
    call.run()
    assert steps == ["dialed", "cancelled", "back"]
    assert _timeline(call.call_sid) == [
        ("transfer cancelled", "Transfer to +12125550199 (+12125550199): cancelled (by the agent)")]


def test_a_warm_transfer_to_another_agent_makes_the_call_theirs(world, simulate, available, on_commit):
    steps = []

    def transfer(call, session):
        session = CallSession.objects.get(pk=session.pk)
        conf = session.conference
        if not steps:
            _message_for(call.call_sid)
            acd.agent_status_set(agent=world.ana, status="available")
            reply = acd.call_control(agent=world.ben, content={"action": "controls", "call": session.pk})
            assert reply["agents"] == [{"agent": world.ana.pk, "name": str(world.ana)}]
            reply = acd.call_control(agent=world.ben, content={"action": "transfer", "call": session.pk,
                                                               "agent": world.ana.pk, "warm": True})
            assert reply["third"]["kind"] == "agent" and reply["third"]["to"] == f"client:agent-{world.ana.pk}"
            steps.append("dialed")
        elif steps == ["dialed"] and (conf.get("third") or {}).get("state") == "talking":
            reply = acd.call_control(agent=world.ben, content={"action": "transfer_complete", "call": session.pk})
            assert reply["type"] == "controls", reply
            steps.append("joined")
        elif steps == ["dialed", "joined"]:
            assert session.agent_id == world.ana.pk and session.state == "connected"
            assert conf["agent_joined"] and not conf["held"]
            # Now Ana's call: her controls work, Ben's no longer do.
            refused = acd.call_control(agent=world.ben, content={"action": "hold", "call": session.pk})
            assert refused["type"] == "error"
            # Ana's browser leg hangs up (its callback is the one it was dialed with): the call ends.
            call.transport(f"{settings.PUBLIC_BASE_URL}/twilio/voice/leg/{call.call_sid}?leg=third",
                           *_signed_leg(f"{settings.PUBLIC_BASE_URL}/twilio/voice/leg/{call.call_sid}?leg=third",
                                        call, conf["agent_leg"], "completed"))
            steps.append("ana hung up")
        return True

    call = _connected_call(world, simulate, available, on_commit, transfer)
    assert call.run() == "answered"
    assert steps == ["dialed", "joined", "ana hung up"]
    assert AgentPresence.objects.get(agent=world.ben).reason == f"Transferred to {world.ana}."
    assert AgentPresence.objects.get(agent=world.ana).status == "wrap_up"
    assert CallSession.objects.get(call_sid=call.call_sid).agent_id == world.ana.pk
    assert _timeline(call.call_sid) == [
        ("transferred", f"Transfer to {world.ana} (client:agent-{world.ana.pk}): transferred")]


def _signed_leg(url: str, call, leg: str, status: str) -> tuple[dict, dict]:
    from answering.twilio.simulator import signature

    params = {**call._base_params(), "CallSid": leg, "CallStatus": status, "Direction": "outbound-api"}
    return params, {"X-Twilio-Signature": signature(url, params)}


def test_a_transfer_to_an_agent_who_is_not_available_is_refused(world, simulate, available, on_commit):
    replies = []

    def transfer(call, session):
        replies.append(acd.call_control(agent=world.ben, content={"action": "transfer", "call": session.pk,
                                                                  "agent": world.ana.pk, "warm": False}))
        call.hang_up()

    _connected_call(world, simulate, available, on_commit, transfer).run()
    assert replies == [{"type": "error", "message": "That agent is not available for this client now."}]
