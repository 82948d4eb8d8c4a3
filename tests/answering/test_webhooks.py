"""Every /twilio/ URL: signed or refused, idempotent, and the fallback that needs nothing."""

from __future__ import annotations

from http import HTTPStatus

import pytest
from django.test import Client

from answering.acd.models import CallSession, TwilioAccount, TwilioRequest
from answering.twilio.simulator import new_call_sid, signature
from tests.answering.conftest import BOB_FLOW, BOB_NUMBER, CHARLIE_NUMBER, PUBLIC, _incoming, _post

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("path", ["/twilio/voice/incoming", "/twilio/voice/status", "/twilio/voice/fallback",
                                  "/twilio/messaging/incoming", "/twilio/messaging/status",
                                  "/twilio/voice/wait/CA123", "/twilio/voice/connect/CA123"])
def test_unsigned_requests_are_refused(world, flows, path, caplog):
    response = _post(path, _incoming(), signed=False)
    assert response.status_code == HTTPStatus.FORBIDDEN
    assert "forged or unsigned Twilio request refused" in caplog.text


def test_a_forged_signature_is_refused(world, flows):
    params = _incoming()
    response = _post("/twilio/voice/incoming", params, token="not-the-token")
    assert response.status_code == HTTPStatus.FORBIDDEN
    assert not CallSession.objects.filter(call_sid=params["CallSid"]).exists()


def test_a_signature_over_other_parameters_is_refused(world, flows):
    params = _incoming()
    good = signature(PUBLIC + "/twilio/voice/incoming", params)
    tampered = {**params, "From": "+19005550000"}
    response = Client().post("/twilio/voice/incoming", tampered, HTTP_HOST="localhost", HTTP_X_TWILIO_SIGNATURE=good)
    assert response.status_code == HTTPStatus.FORBIDDEN


def test_the_signature_is_checked_against_the_public_url(world, flows, settings):
    """Behind a TLS proxy Django sees http://internal:8000; Twilio signed https://public."""
    settings.PUBLIC_BASE_URL = "https://answer.example.com"
    params = _incoming()
    ok = _post("/twilio/voice/incoming", params, sign_url="https://answer.example.com/twilio/voice/incoming")
    assert ok.status_code == HTTPStatus.OK
    internal = _post("/twilio/voice/incoming", _incoming(), sign_url="http://localhost:8000/twilio/voice/incoming")
    assert internal.status_code == HTTPStatus.FORBIDDEN


def test_a_signature_over_the_url_with_its_default_port_is_accepted(world, flows, settings):
    """Twilio signs some URLs with the port spelled out (https://host:443/...): the one-HMAC
    fast path misses those, and the full check must still accept them."""
    settings.PUBLIC_BASE_URL = "https://answer.example.com"
    ported = _post("/twilio/voice/incoming", _incoming(),
                   sign_url="https://answer.example.com:443/twilio/voice/incoming")
    assert ported.status_code == HTTPStatus.OK
    other_port = _post("/twilio/voice/incoming", _incoming(),
                       sign_url="https://answer.example.com:8443/twilio/voice/incoming")
    assert other_port.status_code == HTTPStatus.FORBIDDEN


def test_a_subaccounts_own_token_signs_its_numbers(world, flows):
    TwilioAccount.objects.create(sid="AC" + "5" * 32, auth_token="subaccount-token")
    params = _incoming(AccountSid="AC" + "5" * 32)
    assert _post("/twilio/voice/incoming", params, token="subaccount-token").status_code == HTTPStatus.OK


def test_a_retried_webhook_gets_the_same_twiml_and_writes_nothing_twice(world, flows):
    params = _incoming()
    first = _post("/twilio/voice/incoming", params)
    second = _post("/twilio/voice/incoming", params)
    assert first.status_code == second.status_code == HTTPStatus.OK
    assert first.content == second.content
    assert CallSession.objects.filter(call_sid=params["CallSid"]).count() == 1
    # One stored answer for this call's first webhook (its TwiML names the CallSid): not two.
    assert TwilioRequest.objects.filter(path="/twilio/voice/incoming", body=first.content.decode()).count() == 1
    menu = f"/twilio/voice/menu/{params['CallSid']}?flow=open"
    choose = {**params, "Digits": "2"}
    a, b = _post(menu, choose), _post(menu, choose)
    assert a.content == b.content and b"<Enqueue" in a.content


def test_twiml_is_xml(world, flows):
    response = _post("/twilio/voice/incoming", _incoming())
    assert response["Content-Type"] == "text/xml"
    assert response.content.startswith(b'<?xml version="1.0" encoding="UTF-8"?><Response>')


def _status(call_sid: str, status: str, seq: int):
    return _post("/twilio/voice/status", {**_incoming(call_sid), "CallStatus": status, "SequenceNumber": str(seq)})


def test_status_callbacks_late_twice_or_out_of_order_never_move_a_call_backwards(world, flows):
    params = _incoming()
    _post("/twilio/voice/incoming", params)
    sid = params["CallSid"]
    _post(f"/twilio/voice/menu/{sid}?flow=open", {**params, "Digits": "2"})
    assert CallSession.objects.get(call_sid=sid).state == "queued"
    assert _status(sid, "completed", 3).status_code == HTTPStatus.NO_CONTENT
    assert CallSession.objects.get(call_sid=sid).state == "abandoned"
    _status(sid, "ringing", 1)  # late
    _status(sid, "in-progress", 2)  # late
    _status(sid, "completed", 3)  # twice
    session = CallSession.objects.get(call_sid=sid)
    assert session.state == "abandoned" and session.last_sequence == 3 and session.twilio_status == "completed"


def test_a_status_for_an_unknown_call_is_accepted_and_ignored(world):
    assert _status(new_call_sid(), "completed", 0).status_code == HTTPStatus.NO_CONTENT


def test_the_fallback_answers_without_database_or_redis(world, settings, django_assert_num_queries):
    settings.REDIS_URL = "redis://127.0.0.1:1/0"
    params = _incoming()
    with django_assert_num_queries(0):
        response = _post("/twilio/voice/fallback", params)
    assert response.status_code == HTTPStatus.OK
    assert b"<Record" in response.content and b"fallback?recorded=1" in response.content
    with django_assert_num_queries(0):
        done = _post("/twilio/voice/fallback?recorded=1", {**params, "RecordingUrl": "https://api.twilio.com/x"})
    assert b"<Hangup" in done.content


def test_the_fallback_answers_when_the_database_is_down(world, monkeypatch):
    from django.db.backends.base.base import BaseDatabaseWrapper

    def down(*args, **kwargs):
        raise RuntimeError("database is down")

    monkeypatch.setattr(BaseDatabaseWrapper, "cursor", down)
    response = _post("/twilio/voice/fallback", _incoming())
    assert response.status_code == HTTPStatus.OK and b"<Record" in response.content


def test_an_agent_gets_a_voice_token_for_their_identity(world, logged_in, settings):
    import jwt

    settings.TWILIO_MODE = "live"  # simulate mode answers a simulated token (tests/answering/test_controls.py)
    settings.TWILIO_API_KEY_SID, settings.TWILIO_API_KEY_SECRET = "SK" + "1" * 32, "secret"
    settings.TWILIO_TWIML_APP_SID = "AP" + "2" * 32
    body = logged_in(world.ben, "localhost").get("/agent/voice-token").json()
    assert body["identity"] == f"agent-{world.ben.pk}"
    claims = jwt.decode(body["token"], "secret", algorithms=["HS256"])
    assert claims["grants"]["identity"] == f"agent-{world.ben.pk}"
    assert claims["grants"]["voice"]["incoming"]["allow"] is True


def test_only_agents_get_voice_tokens_and_only_when_configured(world, logged_in, settings):
    settings.TWILIO_MODE, settings.TWILIO_API_KEY_SID = "live", ""
    assert logged_in(world.ben, "localhost").get("/agent/voice-token").status_code == HTTPStatus.SERVICE_UNAVAILABLE
    assert logged_in(world.alice, "localhost").get("/agent/voice-token").status_code == HTTPStatus.FORBIDDEN


def test_the_first_webhook_writes_the_clients_record_of_the_call(world, flows):
    """Committed with the session: a caller who hangs up in the menu is on the record even
    if no status callback ever comes."""
    from django_tenants.utils import schema_context

    from answering.models import CallRecord

    params = _incoming()
    assert _post("/twilio/voice/incoming", params).status_code == HTTPStatus.OK
    with schema_context("bobsplumbing"):
        record = CallRecord.objects.get(call_sid=params["CallSid"])
    assert record.outcome == "in_progress" and record.caller == params["From"] and record.number_dialed == BOB_NUMBER


def _synchronous_commit() -> str:
    """The setting the test's transaction will commit with (a webhook's statements ran in it)."""
    from django.db import connection

    with connection.cursor() as cursor:
        cursor.execute("SELECT current_setting('synchronous_commit')")
        return cursor.fetchone()[0]


def test_an_arrival_left_in_the_menu_commits_without_waiting_for_the_disk(world, flows):
    assert _synchronous_commit() == "on"
    assert _post("/twilio/voice/incoming", _incoming()).status_code == HTTPStatus.OK
    assert CallSession.objects.get(from_number="+12125559876").state == CallSession.State.IN_MENU
    assert _synchronous_commit() == "off"


def test_an_arrival_sent_straight_to_the_queue_waits_for_the_disk(world, flows):
    from django_tenants.utils import schema_context

    from answering.flow.services import call_flow_replace

    with schema_context("bobsplumbing"):
        call_flow_replace(**{**BOB_FLOW, "options": []})  # no menu: open hours go straight to the queue
    assert _post("/twilio/voice/incoming", _incoming()).status_code == HTTPStatus.OK
    assert CallSession.objects.get(from_number="+12125559876").state == CallSession.State.QUEUED
    assert _synchronous_commit() == "on"


def test_arrivals_wait_for_the_disk_when_configured_to(world, flows, settings):
    settings.ARRIVAL_SYNCHRONOUS_COMMIT = True
    assert _post("/twilio/voice/incoming", _incoming()).status_code == HTTPStatus.OK
    assert CallSession.objects.get(from_number="+12125559876").state == CallSession.State.IN_MENU
    assert _synchronous_commit() == "on"


def _lose_the_arrival(call_sid: str, schema: str) -> None:
    """What a crash of the database server right after an in-menu arrival's commit does."""
    from django_tenants.utils import schema_context

    from answering.models import CallRecord

    CallSession.objects.filter(call_sid=call_sid).delete()
    with schema_context(schema):
        CallRecord.objects.filter(call_sid=call_sid).delete()


def test_a_call_whose_arrival_was_lost_is_written_again_by_the_callers_next_webhook(world, flows):
    from django_tenants.utils import schema_context

    from answering.models import CallRecord

    params = _incoming()
    assert _post("/twilio/voice/incoming", params).status_code == HTTPStatus.OK
    _lose_the_arrival(params["CallSid"], "bobsplumbing")

    response = _post(f"/twilio/voice/menu/{params['CallSid']}?flow=open", {**params, "Digits": "2"})
    assert response.status_code == HTTPStatus.OK and "<Enqueue" in response.content.decode()
    session = CallSession.objects.get(call_sid=params["CallSid"])
    assert (session.client.schema_name, session.state, session.from_number, session.to_number, session.menu_choice) == \
        ("bobsplumbing", CallSession.State.QUEUED, params["From"], BOB_NUMBER, "open:2")
    with schema_context("bobsplumbing"):
        record = CallRecord.objects.get(call_sid=params["CallSid"])
    assert (record.caller, record.outcome, record.menu_choice) == (params["From"], "in_progress", "open:2")
    assert record.queued_at is not None


def test_a_lost_arrival_before_the_language_choice_is_written_again_in_the_chosen_language(world, flows):
    params = _incoming(To=CHARLIE_NUMBER)
    assert "Para español" in _post("/twilio/voice/incoming", params).content.decode()
    _lose_the_arrival(params["CallSid"], "charlieclinic")

    response = _post(f"/twilio/voice/language/{params['CallSid']}", {**params, "Digits": "2"})
    assert "Para citas" in response.content.decode()
    session = CallSession.objects.get(call_sid=params["CallSid"])
    assert (session.client.schema_name, session.language, session.state) == \
        ("charlieclinic", "es", CallSession.State.IN_MENU)


@pytest.mark.parametrize("change", [{"To": "+19995550000"}, {"CallSid": "CA" + "f" * 32}])
def test_a_menu_webhook_for_an_unknown_call_writes_nothing_unless_it_names_a_clients_number_and_itself(
        world, flows, change):
    params = _incoming()
    response = _post(f"/twilio/voice/menu/{params['CallSid']}?flow=open", {**params, **change, "Digits": "2"})
    assert response.status_code == HTTPStatus.NOT_FOUND
    assert not CallSession.objects.exists()
