"""The console an agent can work a night shift in (issue #15, findings 3–7 and 12, the console's
part): no work lost when the caller hangs up, a script one cannot get stuck in, one truthful
state with its reason, clocks from timestamps, the caller's language and human words."""

from __future__ import annotations

import uuid
from datetime import datetime, timedelta
from http import HTTPStatus

import pytest
from django.utils import timezone
from django_tenants.utils import schema_context

from answering.acd import services as acd
from answering.acd.models import AgentPresence, CallSession
from answering.acd.selectors import agent_snapshot, call_screen, offer_payload, queue_snapshot
from answering.messages import services
from answering.models import CallRecord, Message
from tests.conftest import BOB_SCRIPT

pytestmark = pytest.mark.django_db
State = CallSession.State


def _queued(world, *, client=None, language="en", **fields) -> CallSession:
    return CallSession.objects.create(
        call_sid="CA" + uuid.uuid4().hex, client=client or world.bobs, to_number="+12125550111",
        from_number="+12125559876", state=State.QUEUED, language=language, queued_at=timezone.now(), **fields)


def _available(agent, idle_minutes=0):
    presence = acd.agent_status_set(agent=agent, status="available")
    AgentPresence.objects.filter(pk=presence.pk).update(idle_since=timezone.now() - timedelta(minutes=idle_minutes))


@pytest.fixture
def scripted_call(world):
    """Ben on a connected call for Bob's Plumbing guided by the service script (pinned, as the
    screen pop does), with its call record."""
    from answering.scripts.services import script_import_json

    with schema_context("bobsplumbing"):
        script_import_json(data=BOB_SCRIPT)
    session = CallSession.objects.create(
        call_sid="CA" + uuid.uuid4().hex, client=world.bobs, to_number="+12125550111", from_number="+12125550091",
        state=State.CONNECTED, agent=world.ben, queued_at=timezone.now(), answered_at=timezone.now(),
        menu_choice="open:2")
    AgentPresence.objects.update_or_create(agent=world.ben, defaults={"status": "on_call"})
    with schema_context("bobsplumbing"):
        CallRecord.objects.create(call_sid=session.call_sid, caller=session.from_number,
                                  number_dialed=session.to_number, arrived_at=timezone.now())
        acd.call_script_pin(session)
    session.save(update_fields=["script_version_id"])
    return session


# --- 3: the caller hangs up mid-script -------------------------------------------------------

def test_a_caller_hanging_up_mid_script_leaves_the_agent_to_save_what_was_taken(world, scripted_call, settings):
    session = acd.call_status_update(session=scripted_call, status="completed", sequence=5)
    assert session.state == State.WRAP_UP and session.caller_hung_up
    assert session.wrap_up_until is None  # the wrap-up waits for the agent's work
    presence = AgentPresence.objects.get(agent=world.ben)
    assert presence.status == "wrap_up" and presence.reason == "Caller hung up — finish and save the message."
    # However long the agent takes, no countdown and no sweep ends it meanwhile.
    assert not acd.wrap_up_end(session_id=session.pk)
    assert acd.acd_sweep()["wrapped"] == 0
    with schema_context("bobsplumbing"):
        assert CallRecord.objects.get(call_sid=session.call_sid).caller_hung_up  # the call log says so
        snapshot = agent_snapshot(world.ben)
        assert snapshot["call"]["caller_hung_up"] and snapshot["call"]["wrap_up_until"] is None
        assert snapshot["reason"] == "Caller hung up — finish and save the message."

        # Nor can the agent move on (and be offered a call) with the work unsaved: they are told why.
        assert acd.agent_status_set(agent=world.ben, status="available").status == "wrap_up"
        assert AgentPresence.objects.get(agent=world.ben).reason == (
            "Save the message of the call whose caller hung up first.")

        # What was taken is saved though the caller never gave a callback number (required).
        session.refresh_from_db()
        message = services.call_message_take(session=session, agent=world.ben,
                                             answers={"in_danger": "no", "name": "Kim"})
        assert message.fields == {"in_danger": "no", "name": "Kim"}
        assert message.callback_number == "+12125550091"  # the caller's number, the one we have
    session.refresh_from_db()
    assert session.wrap_up_until is not None  # saved: now the wrap-up counts down
    CallSession.objects.filter(pk=session.pk).update(wrap_up_until=timezone.now())
    assert acd.wrap_up_end(session_id=session.pk)
    assert AgentPresence.objects.get(agent=world.ben).status == "available"
    with schema_context("bobsplumbing"):
        record = CallRecord.objects.get(call_sid=session.call_sid)
        assert record.caller_hung_up and record.outcome == "answered"


def test_a_malformed_answer_is_still_refused_when_the_caller_hung_up(world, scripted_call):
    from django.core.exceptions import ValidationError

    session = acd.call_status_update(session=scripted_call, status="completed", sequence=5)
    with schema_context("bobsplumbing"), pytest.raises(ValidationError) as refused:
        services.call_message_take(session=session, agent=world.ben,
                                   answers={"in_danger": "no", "callback_number": "12"})
    assert "callback_number" in refused.value.message_dict
    with schema_context("bobsplumbing"):
        assert not Message.objects.filter(call_sid=session.call_sid).exists()


def test_a_call_the_agent_finished_is_not_marked_hung_up_and_counts_down(world, scripted_call):
    answers = {"in_danger": "no", "name": "Kim", "callback_number": "2125550133"}
    with schema_context("bobsplumbing"):
        services.call_message_take(session=scripted_call, agent=world.ben, answers=answers)
        services.call_finish(session=scripted_call, agent=world.ben, disposition="message_taken", answers=answers)
    session = acd.call_status_update(session=scripted_call, status="completed", sequence=5)
    assert session.state == State.WRAP_UP and not session.caller_hung_up and session.wrap_up_until is not None
    with schema_context("bobsplumbing"):
        assert not CallRecord.objects.get(call_sid=session.call_sid).caller_hung_up


def test_a_hung_up_call_whose_script_only_logs_counts_down_once_finished(world, scripted_call):
    session = acd.call_status_update(session=scripted_call, status="completed", sequence=5)
    assert session.wrap_up_until is None
    with schema_context("bobsplumbing"):
        services.call_finish(session=session, agent=world.ben, disposition="wrong_number", answers={})
    session.refresh_from_db()
    assert session.wrap_up_until is not None


# --- 4: a script one cannot get stuck in --------------------------------------------------------

def test_the_draft_is_kept_on_the_call_record_and_comes_back_in_the_snapshot(world, scripted_call):
    with schema_context("bobsplumbing"):
        services.call_draft_save(session=scripted_call, draft={
            "step": "details", "trail": ["danger"], "answers": {"in_danger": "no", "name": "Dana"}})
        assert CallRecord.objects.get(call_sid=scripted_call.call_sid).draft["answers"]["name"] == "Dana"
    call = agent_snapshot(world.ben)["call"]
    assert call["draft"] == {"step": "details", "trail": ["danger"], "answers": {"in_danger": "no", "name": "Dana"},
                             "end": None}


def test_a_step_is_checked_on_its_own_required_and_phone_fields():
    from answering.scripts.answers import step_answers_clean

    values, errors = step_answers_clean(version=BOB_SCRIPT, step="details", answers={"name": ""},
                                        time_zone="America/New_York")
    assert set(errors) == {"name", "callback_number"} and "required" in errors["name"][0]
    values, errors = step_answers_clean(version=BOB_SCRIPT, step="details",
                                        answers={"name": "Dana", "callback_number": "555-01"},
                                        time_zone="America/New_York")
    assert list(errors) == ["callback_number"]
    values, errors = step_answers_clean(version=BOB_SCRIPT, step="details",
                                        answers={"name": "Dana", "callback_number": "(212) 555-0147"},
                                        time_zone="America/New_York")
    assert errors == {} and values["callback_number"] == "+12125550147"


# --- 5: one truthful state, with its reason -----------------------------------------------------

def test_a_declined_call_goes_to_another_agent_not_straight_back(world):
    call = _queued(world)
    _available(world.ben, idle_minutes=10)
    _available(world.ana, idle_minutes=1)
    (offer,) = acd.acd_dispatch()
    assert offer.offered_to_id == world.ben.pk
    assert acd.call_decline(call_id=call.pk, agent=world.ben)
    presence = AgentPresence.objects.get(agent=world.ben)
    assert presence.status == "available" and "You declined a call for Bob's Plumbing" in presence.reason
    (again,) = acd.acd_dispatch()
    assert again.pk == call.pk and again.offered_to_id == world.ana.pk


def test_a_declined_call_comes_back_to_the_only_agent_after_a_pause_and_says_so(world, settings):
    settings.ACD_REOFFER_PAUSE_SECONDS = 20
    call = _queued(world)
    _available(world.ben)
    acd.acd_dispatch()
    acd.call_decline(call_id=call.pk, agent=world.ben)
    assert "back to you in 20 s if nobody else can take it" in AgentPresence.objects.get(agent=world.ben).reason
    assert acd.acd_dispatch() == []  # not straight back
    CallSession.objects.filter(pk=call.pk).update(passed_over_at=timezone.now() - timedelta(seconds=21))
    (again,) = acd.acd_dispatch()
    assert again.offered_to_id == world.ben.pk


def test_an_expired_offer_is_not_re_offered_silently_and_the_misses_say_why_away(world, settings):
    settings.ACD_MISSED_OFFERS_BEFORE_AWAY = 2
    _available(world.ben)
    call = _queued(world)
    acd.acd_dispatch()
    CallSession.objects.filter(pk=call.pk).update(offer_expires_at=timezone.now())
    assert acd.offer_expire(call_id=call.pk, agent_id=world.ben.pk)
    presence = AgentPresence.objects.get(agent=world.ben)
    assert presence.reason == "You missed a call for Bob's Plumbing (1 of 2 before you are set away)."
    assert acd.acd_dispatch() == []  # not offered straight back to the agent who missed it
    CallSession.objects.filter(pk=call.pk).update(passed_over_at=timezone.now() - timedelta(minutes=5))
    (again,) = acd.acd_dispatch()
    assert again.offered_to_id == world.ben.pk  # after the pause, with nobody else, the call comes back
    CallSession.objects.filter(pk=call.pk).update(offer_expires_at=timezone.now())
    assert acd.offer_expire(call_id=call.pk, agent_id=world.ben.pk)
    snapshot = agent_snapshot(world.ben)
    assert snapshot["status"] == "away"
    assert snapshot["reason"] == "Set to away: 2 offers missed. Press 1 when you are back."


def test_after_a_failed_agent_leg_the_agents_screen_drops_the_call_and_says_why(
        world, scripted_call, monkeypatch, django_capture_on_commit_callbacks):
    from answering import live

    pushed = []
    monkeypatch.setattr(live, "push", lambda group, payload: pushed.append((group, payload)))
    with django_capture_on_commit_callbacks(execute=True):
        acd.agent_leg_failed(session=scripted_call, dial_status="busy")
    assert (f"agent.{world.ben.pk}", {"type": "call_changed", "call": scripted_call.pk}) in pushed
    snapshot = agent_snapshot(world.ben)
    assert snapshot["call"] is None  # not "on the phone… connected" for a caller back in the queue
    assert snapshot["reason"].startswith("The call did not reach your phone (busy): the caller is back in the queue")


def test_an_offer_says_offered_and_carries_the_timestamps_the_console_counts_from(world):
    call = _queued(world, from_city="BROOKLYN", from_state="NY")
    CallSession.objects.filter(pk=call.pk).update(queued_at=timezone.now() - timedelta(seconds=42))
    _available(world.ben)
    (offer,) = acd.acd_dispatch()
    payload = offer_payload(offer)
    assert payload["status"] == "offered" and payload["reason"] == "Offered a call for Bob's Plumbing."
    assert abs((timezone.now() - datetime.fromisoformat(payload["queued_at"])).total_seconds() - 42) < 5
    assert payload["caller_place"] == "Brooklyn, NY" and payload["language_name"] == "English"
    snapshot = agent_snapshot(world.ben)
    assert snapshot["status"] == "offered" and snapshot["reason"] == "Offered a call for Bob's Plumbing."
    queue = queue_snapshot(world.bobs)
    assert datetime.fromisoformat(queue["oldest_since"]) == CallSession.objects.get(pk=call.pk).queued_at
    assert queue["now"]


# --- 7 and 12: the caller's language, human words, what the agent needs beside the call ---------

def test_a_spanish_callers_pop_greets_in_spanish_with_human_words(world):
    from answering.models import MenuOption

    with schema_context("charlieclinic"):
        MenuOption.objects.create(flow="after_hours", digit="1", label="Urgent care line")
    session = CallSession.objects.create(
        call_sid="CA" + uuid.uuid4().hex, client=world.charlies, to_number="+13125550100", from_number="+13125550123",
        state=State.CONNECTED, agent=world.ana, answered_at=timezone.now(), language="es", menu_choice="after_hours:1",
        priority=2)
    screen = call_screen(session, world.ana)
    assert screen["greeting"] == f"Gracias por llamar a Charlie's Clinic, le atiende {world.ana.first_name}."
    assert screen["language_name"] == "Spanish"
    assert screen["menu_label"] == "After hours · Urgent care line"
    assert screen["priority"] == "Emergency"


def test_a_pop_with_a_script_shows_one_greeting(world, scripted_call):
    screen = call_screen(scripted_call, world.ben)
    assert screen["greeting"] is None  # the script's first step says it
    assert screen["script"]["steps"]["danger"]["say"].startswith("Bob's Plumbing, this is")


def test_the_callers_history_is_in_the_clients_zone_and_says_which(world, scripted_call):
    from zoneinfo import ZoneInfo

    earlier = datetime(2026, 1, 15, 3, 4, tzinfo=ZoneInfo("UTC"))  # 10:04 PM the day before in New York
    with schema_context("bobsplumbing"):
        CallRecord.objects.create(call_sid="CA" + uuid.uuid4().hex, caller=scripted_call.from_number,
                                  number_dialed="+12125550111", arrived_at=earlier, outcome="voicemail")
    screen = call_screen(scripted_call, world.ben)
    (past,) = screen["history"]
    assert past["when_local"] == "Wed 14 Jan, 10:04 PM EST" and past["outcome_label"] == "Voicemail"
    assert screen["client"]["time_zone"] == "America/New_York"


def test_who_is_on_call_now_is_on_the_pop(world, scripted_call):
    from answering.models import Override, Person, Team

    with schema_context("bobsplumbing"):
        team = Team.objects.create(name="Technicians")
        person = Person.objects.create(name="Tom Tech", phone="+12125550160")
        Override.objects.create(team=team, person=person, starts=timezone.now() - timedelta(hours=1),
                                ends=timezone.now() + timedelta(hours=1))
    (on_call,) = call_screen(scripted_call, world.ben)["on_call"]
    assert on_call["team"] == "Technicians" and on_call["name"] == "Tom Tech" and on_call["phone"] == "+12125550160"


def test_the_callers_city_and_state_are_kept_from_the_first_webhook(world, flows):
    from tests.answering.conftest import _incoming, _post

    params = _incoming(FromCity="BROOKLYN", FromState="NY")
    assert _post("/twilio/voice/incoming", params).status_code == HTTPStatus.OK
    session = CallSession.objects.get(call_sid=params["CallSid"])
    assert (session.from_city, session.from_state) == ("BROOKLYN", "NY")
