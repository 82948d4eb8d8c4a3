"""A call's path through a client's flow, driven by the simulator in-process (signed webhooks)."""

from __future__ import annotations

import pytest
from django_tenants.utils import schema_context

from answering.acd import services as acd
from answering.acd.models import AgentPresence, CallSession
from answering.flow.services import call_flow_replace
from answering.models import CallRecord, InboundSMS, VoicemailMessage
from tests.answering.conftest import BOB_FLOW, BOB_NUMBER, CHARLIE_NUMBER

pytestmark = pytest.mark.django_db


def _record(slug: str, call_sid: str) -> CallRecord:
    with schema_context(slug):
        return CallRecord.objects.get(call_sid=call_sid)


def test_a_caller_is_greeted_as_the_client_queued_offered_and_connected(world, simulate, available):
    available(world.ben)

    def agent_takes_it(call):
        session = CallSession.objects.get(call_sid=call.call_sid)
        if session.state == "offered":
            assert session.offered_to_id == world.ben.pk
            assert acd.call_accept(call_id=session.pk, agent=world.ben) is not None

    call = simulate(BOB_NUMBER, digits=["2"], on_hold=agent_takes_it)
    assert call.run() == "answered"
    assert call.said[0] == "Thanks for calling Bob's Plumbing."
    session = CallSession.objects.get(call_sid=call.call_sid)
    assert session.state == "wrap_up" and session.agent_id == world.ben.pk
    record = _record("bobsplumbing", call.call_sid)
    assert record.outcome == "answered" and record.agent_id == world.ben.pk
    assert record.menu_choice == "open:2"
    assert record.arrived_at <= record.queued_at <= record.offered_at <= record.answered_at <= record.ended_at
    assert record.wait_seconds is not None and record.talk_seconds is not None
    assert AgentPresence.objects.get(agent=world.ben).status == "wrap_up"


def test_the_emergency_option_queues_at_emergency_priority(world, simulate):
    call = simulate(BOB_NUMBER, digits=["1"], hang_up_in_queue_after=0)
    call.run()
    session = CallSession.objects.get(call_sid=call.call_sid)
    assert session.priority == CallSession.Priority.EMERGENCY
    assert session.state == "abandoned"
    assert _record("bobsplumbing", call.call_sid).outcome == "abandoned"


def test_an_information_option_speaks_then_replays_the_menu(world, simulate):
    call = simulate(BOB_NUMBER, digits=["3", "4"])
    assert call.run() == "voicemail"
    assert "Open seven to seven." in call.said
    assert call.said.count("Emergencies press 1. Service press 2.") == 2


def test_the_voicemail_option_takes_a_message_for_the_client(world, simulate):
    call = simulate(BOB_NUMBER, digits=["4"])
    assert call.run() == "voicemail"
    with schema_context("bobsplumbing"):
        message = VoicemailMessage.objects.get(call_sid=call.call_sid)
        assert message.recording_url and message.caller == "+12125559876"
    with schema_context("charlieclinic"):
        assert not VoicemailMessage.objects.filter(call_sid=call.call_sid).exists()
    assert _record("bobsplumbing", call.call_sid).outcome == "voicemail"


def test_the_transfer_option_dials_the_number(world, simulate):
    call = simulate(BOB_NUMBER, digits=["5"])
    assert call.run() == "transferred"
    assert CallSession.objects.get(call_sid=call.call_sid).state == "transferred"


def test_repeat_replays_the_menu(world, simulate):
    call = simulate(BOB_NUMBER, digits=["0", "4"])
    call.run()
    assert call.said.count("Emergencies press 1. Service press 2.") == 2


def test_invalid_input_replays_the_menu_then_falls_back_to_the_queue(world, simulate):
    call = simulate(BOB_NUMBER, digits=["9", "7"], hang_up_in_queue_after=0)
    call.run()
    assert call.said.count("Sorry, that is not an option.") == 1
    session = CallSession.objects.get(call_sid=call.call_sid)
    assert session.menu_choice == "open:invalid" and session.queued_at is not None


def test_after_hours_runs_the_after_hours_menu(world, simulate):
    with schema_context("bobsplumbing"):
        call_flow_replace(**{**BOB_FLOW, "hours": []})
    call = simulate(BOB_NUMBER, digits=["2"])
    assert call.run() == "voicemail"
    assert call.said[:2] == ["Bob's Plumbing is closed.", "Emergencies press 1, messages press 2."]


def test_a_spanish_caller_hears_spanish_and_is_routed_as_spanish(world, simulate, available):
    available(world.ben)  # English only: must not be offered a Spanish call
    available(world.ana)  # English and Spanish

    offered_to = []

    def watch(call):
        session = CallSession.objects.get(call_sid=call.call_sid)
        if session.state == "offered":
            offered_to.append(session.offered_to_id)
            acd.call_accept(call_id=session.pk, agent=world.ana)

    call = simulate(CHARLIE_NUMBER, digits=["2", "1"], on_hold=watch)
    assert call.run() == "answered"
    assert call.said[:2] == ["Charlie's Clinic, thank you for calling.", "Para español, oprima dos."]
    assert "Clínica de Charlie, gracias por llamar." in call.said and "Para citas, oprima uno." in call.said
    assert offered_to[0] == world.ana.pk
    assert CallSession.objects.get(call_sid=call.call_sid).language == "es"


def test_nobody_answers_within_the_maximum_wait_so_the_caller_leaves_a_voicemail(world, simulate):
    with schema_context("bobsplumbing"):
        from answering.models import AnsweringSettings

        settings_row = AnsweringSettings.objects.get()
        settings_row.max_wait_seconds = 0
        settings_row.save()
    call = simulate(BOB_NUMBER, digits=["2"])
    assert call.run() == "voicemail"
    with schema_context("bobsplumbing"):
        assert VoicemailMessage.objects.filter(call_sid=call.call_sid).exists()
    assert _record("bobsplumbing", call.call_sid).outcome == "voicemail"


def test_without_a_menu_the_first_webhook_queues_the_caller_and_offers_the_call(world, simulate, available):
    """The call is written already queued (one statement) and dispatched after that commit."""
    with schema_context("bobsplumbing"):
        call_flow_replace(hours=BOB_FLOW["hours"], options=[], prompts=BOB_FLOW["prompts"])
    available(world.ben)
    offered = []

    def agent_takes_it(call):
        session = CallSession.objects.get(call_sid=call.call_sid)
        offered.append(session.offered_to_id)
        acd.call_accept(call_id=session.pk, agent=world.ben)

    call = simulate(BOB_NUMBER, on_hold=agent_takes_it)
    assert call.run() == "answered"
    assert call.said[0] == "Thanks for calling Bob's Plumbing." and offered[0] == world.ben.pk
    record = _record("bobsplumbing", call.call_sid)
    assert record.menu_choice == "open:direct" and record.arrived_at <= record.queued_at <= record.answered_at


def test_without_an_after_hours_menu_the_first_webhook_takes_a_voicemail(world, simulate):
    with schema_context("bobsplumbing"):
        call_flow_replace(hours=[], options=[], prompts=BOB_FLOW["prompts"])
    call = simulate(BOB_NUMBER)
    assert call.run() == "voicemail"
    assert call.said[0] == "Bob's Plumbing is closed."
    assert CallSession.objects.get(call_sid=call.call_sid).state == "voicemail"
    assert _record("bobsplumbing", call.call_sid).outcome == "voicemail"


def test_an_unknown_number_is_not_in_service(world, simulate):
    call = simulate("+14155550199")
    call.run()
    assert call.said == ["The number you have called is not in service. Goodbye."]
    assert not CallSession.objects.filter(call_sid=call.call_sid).exists()


def test_a_suspended_client_gets_its_own_fallback_never_anothers_greeting(world, simulate):
    world.bobs.status = "suspended"
    world.bobs.save()
    try:
        call = simulate(BOB_NUMBER)
        assert call.run() == "voicemail"
        assert "This number is temporarily unavailable. Please call again later." in call.said
        assert not any("Charlie" in line or "Bob's Plumbing" in line for line in call.said)
    finally:
        world.bobs.status = "active"
        world.bobs.save()


def test_each_number_plays_its_own_clients_greeting(world, simulate):
    bob = simulate(BOB_NUMBER, digits=["4"])
    bob.run()
    charlie = simulate(CHARLIE_NUMBER, digits=["", "1"], hang_up_in_queue_after=0)
    charlie.run()
    assert bob.said[0] == "Thanks for calling Bob's Plumbing." and not any("Charlie" in s for s in bob.said)
    assert charlie.said[0] == "Charlie's Clinic, thank you for calling." and not any("Bob" in s for s in charlie.said)
    with schema_context("charlieclinic"):
        assert not CallRecord.objects.filter(call_sid=bob.call_sid).exists()
    with schema_context("bobsplumbing"):
        assert not CallRecord.objects.filter(call_sid=charlie.call_sid).exists()


def test_an_inbound_sms_is_stored_for_the_client_that_owns_the_number(world, simulate):
    from django.test import Client

    from answering.twilio.simulator import signature

    url = "http://localhost:8000/twilio/messaging/incoming"
    params = {"MessageSid": "SM" + "1" * 32, "AccountSid": "AC" + "0" * 32, "From": "+12125559876",
              "To": BOB_NUMBER, "Body": "Is anyone there tonight?", "NumMedia": "0"}
    for _ in range(2):  # Twilio retried: stored once
        response = Client().post("/twilio/messaging/incoming", params, HTTP_HOST="localhost",
                                 HTTP_X_TWILIO_SIGNATURE=signature(url, params))
        assert response.status_code == 200
    with schema_context("bobsplumbing"):
        assert InboundSMS.objects.filter(body="Is anyone there tonight?").count() == 1
    with schema_context("charlieclinic"):
        assert not InboundSMS.objects.exists()


def test_texting_stop_to_a_clients_number_opts_out_for_that_client_once(world, simulate):
    from django.test import Client

    from answering.twilio.simulator import signature
    from compliance.models import DncEntry

    url = "http://localhost:8000/twilio/messaging/incoming"
    replies = []
    for n in range(2):
        params = {"MessageSid": f"SM{n:032d}", "AccountSid": "AC" + "0" * 32, "From": "+12125554321",
                  "To": BOB_NUMBER, "Body": "Stop!", "NumMedia": "0"}
        response = Client().post("/twilio/messaging/incoming", params, HTTP_HOST="localhost",
                                 HTTP_X_TWILIO_SIGNATURE=signature(url, params))
        replies.append(response.content.decode())
    assert "unsubscribed" in replies[0]
    assert "<Message>" not in replies[1]  # one confirmation at most
    with schema_context("bobsplumbing"):
        assert DncEntry.objects.filter(number="+12125554321").exists()
    with schema_context("charlieclinic"):
        assert not DncEntry.objects.filter(number="+12125554321").exists()


def test_a_changed_flow_is_heard_on_the_next_call(world, simulate):
    from answering.models import Prompt

    first = simulate(BOB_NUMBER, digits=["4"])
    first.run()
    with schema_context("bobsplumbing"):
        prompt = Prompt.objects.get(key="greeting", language="en")
        prompt.text = "Bob's Plumbing, new greeting."
        prompt.save()
    second = simulate(BOB_NUMBER, digits=["4"])
    second.run()
    assert first.said[0] == "Thanks for calling Bob's Plumbing."
    assert second.said[0] == "Bob's Plumbing, new greeting."


def test_calls_are_answered_from_the_database_when_redis_is_down(world, simulate, settings):
    from answering.flow import cache as flow_cache

    settings.REDIS_URL = "redis://127.0.0.1:1/0"  # clients are kept per URL: this one reaches nothing
    assert flow_cache.flow_get("bobsplumbing", lambda: "from the database") == "from the database"


def test_when_twilio_already_confirmed_the_opt_out_we_do_not_confirm_again(world, simulate):
    from django.test import Client

    from answering.twilio.simulator import signature
    from compliance.models import DncEntry

    url = "http://localhost:8000/twilio/messaging/incoming"
    params = {"MessageSid": "SM" + "7" * 32, "AccountSid": "AC" + "0" * 32, "From": "+12125554322",
              "To": BOB_NUMBER, "Body": "STOP", "NumMedia": "0", "OptOutType": "STOP"}
    response = Client().post("/twilio/messaging/incoming", params, HTTP_HOST="localhost",
                             HTTP_X_TWILIO_SIGNATURE=signature(url, params))
    assert "<Message>" not in response.content.decode()
    with schema_context("bobsplumbing"):
        assert DncEntry.objects.filter(number="+12125554322").exists()


def test_the_sms_simulator_texts_signed_and_reads_the_reply(world, flows):
    from django.test import Client

    from answering.twilio.simulator import send_sms, test_client_transport

    reply = send_sms(transport=test_client_transport(Client(), "localhost"), to=BOB_NUMBER, from_="+12125554323",
                     body="help")
    assert reply.status == 200 and "Bob's Plumbing" in reply.body and "STOP" in reply.body
