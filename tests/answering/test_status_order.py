"""Twilio's call status callbacks: a final status stays final, whatever comes after it, and a
callback without a SequenceNumber never moves the call's status backwards."""

from __future__ import annotations

import itertools
from http import HTTPStatus

import pytest
from django.test import Client

from answering.acd.models import CallSession
from answering.twilio.simulator import new_call_sid, signature
from tests.answering.conftest import BOB_NUMBER

pytestmark = pytest.mark.django_db
PUBLIC = "http://localhost:8000"
_TIMESTAMPS = itertools.count(1)


def _post(path: str, params: dict):
    return Client().post(path, params, HTTP_HOST="localhost",
                         HTTP_X_TWILIO_SIGNATURE=signature(PUBLIC + path, params))


def _call() -> dict:
    params = {"CallSid": new_call_sid(), "AccountSid": "AC" + "0" * 32, "From": "+12125559876", "To": BOB_NUMBER,
              "CallStatus": "ringing", "Direction": "inbound"}
    assert _post("/twilio/voice/incoming", params).status_code == HTTPStatus.OK
    return params


def _status(params: dict, status: str, sequence: int | None = None) -> None:
    """A callback of its own (its Timestamp differs), not a retry of an earlier one."""
    extra = {"SequenceNumber": str(sequence)} if sequence is not None else {}
    extra["Timestamp"] = str(next(_TIMESTAMPS))
    assert _post("/twilio/voice/status", {**params, "CallStatus": status, **extra}).status_code == \
        HTTPStatus.NO_CONTENT


def _twilio_status(params: dict) -> tuple[str, int, str]:
    session = CallSession.objects.get(call_sid=params["CallSid"])
    return session.twilio_status, session.last_sequence, session.state


@pytest.mark.parametrize("late", ["in-progress", "ringing", "busy", "canceled", "queued"])
def test_a_late_callback_without_a_sequence_number_after_completed_changes_nothing(world, flows, late):
    params = _call()
    _status(params, "in-progress", 1)
    _status(params, "completed", 2)
    assert _twilio_status(params) == ("completed", 2, CallSession.State.COMPLETED)
    _status(params, late)  # a straggler, or a proxy that dropped the parameter
    assert _twilio_status(params) == ("completed", 2, CallSession.State.COMPLETED)


def test_a_final_status_without_a_sequence_number_is_not_replaced_by_another(world, flows):
    """The caller hung up in the queue (the queue's action says so, without a sequence): the
    status callback's own final status, or any other, changes nothing after it."""
    params = _call()
    assert b"<Enqueue" in _post(f"/twilio/voice/menu/{params['CallSid']}?flow=open", {**params, "Digits": "2"}).content
    exit_url = f"/twilio/voice/queue-exit/{params['CallSid']}"
    _post(exit_url, {**params, "QueueResult": "hangup"})
    assert _twilio_status(params) == ("completed", -1, CallSession.State.ABANDONED)
    _status(params, "failed")
    _status(params, "in-progress")
    assert _twilio_status(params) == ("completed", -1, CallSession.State.ABANDONED)


def test_callbacks_without_sequence_numbers_only_move_forward(world, flows):
    params = _call()
    _status(params, "ringing")
    _status(params, "in-progress")
    assert _twilio_status(params)[0] == "in-progress"
    _status(params, "ringing")  # late
    assert _twilio_status(params)[0] == "in-progress"
    _status(params, "completed")
    assert _twilio_status(params) == ("completed", -1, CallSession.State.COMPLETED)


def test_sequenced_callbacks_are_still_ordered_by_their_sequence_number(world, flows):
    params = _call()
    _status(params, "in-progress", 2)
    _status(params, "ringing", 1)  # late
    assert _twilio_status(params)[:2] == ("in-progress", 2)


@pytest.mark.parametrize("status", ["x" * 30, "Completed", ""])
def test_a_status_twilio_does_not_send_is_ignored_with_a_log_line(world, flows, status, caplog):
    params = _call()
    _status(params, "in-progress", 1)
    _status(params, status, 2)
    assert _twilio_status(params) == ("in-progress", 1, CallSession.State.IN_MENU)
    assert "unknown CallStatus" in caplog.text
