"""Signed Twilio webhooks with a form Twilio never sends (another charset, no CallSid, a CallSid
of another shape, a NUL byte): a 400 and a log line, and nothing written."""

from __future__ import annotations

from http import HTTPStatus
from urllib.parse import quote, urlencode

import pytest
from django.test import Client
from django_tenants.utils import schema_context

from answering.acd.models import CallSession, TwilioRequest
from answering.models import CallRecord
from answering.twilio.simulator import new_call_sid, signature
from tests.answering.conftest import BOB_NUMBER

pytestmark = pytest.mark.django_db
PUBLIC = "http://localhost:8000"
FORM = "application/x-www-form-urlencoded"
# The first webhook, the status callback, and a few of a call's own URLs.
PATHS = ["/twilio/voice/incoming", "/twilio/voice/status", "/twilio/voice/menu/{sid}?flow=open",
         "/twilio/voice/language/{sid}", "/twilio/voice/wait/{sid}", "/twilio/voice/voicemail/{sid}"]


def _params(call_sid: str | None, **extra) -> dict:
    params = {"AccountSid": "AC" + "0" * 32, "From": "+12125559876", "To": BOB_NUMBER, "CallStatus": "ringing",
              "Direction": "inbound", "CallerCity": "MONTRÉAL", "Digits": "2", **extra}
    if call_sid is not None:
        params["CallSid"] = call_sid
    return params


def _post(url: str, params: dict, *, body: bytes | None = None, content_type: str = FORM):
    """POST signed as Twilio signs (the public URL and the parameters), the body as given."""
    path = url.split("?")[0]
    signed_url = PUBLIC + quote(path, safe="/") + (url[len(path):])
    if body is None:
        body = urlencode(params).encode()
    return Client().generic("POST", quote(path, safe="/") + url[len(path):], body, content_type=content_type,
                            HTTP_HOST="localhost", HTTP_X_TWILIO_SIGNATURE=signature(signed_url, params))


def _nothing_written() -> None:
    assert not CallSession.objects.exists()
    assert not TwilioRequest.objects.exists()
    with schema_context("bobsplumbing"):
        assert not CallRecord.objects.exists()


def _refused(response, caplog) -> None:
    assert response.status_code == HTTPStatus.BAD_REQUEST, response.content[:300]
    assert response["Content-Type"] == "text/plain" and response.content.startswith(b"Bad request: ")
    assert "malformed Twilio request refused (400)" in caplog.text
    _nothing_written()


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("charset", ["iso-8859-1", "utf-16", "no-such-charset"])
def test_a_form_in_another_charset_is_refused(world, flows, path, charset, caplog):
    sid = new_call_sid()
    params = _params(sid)
    encoding = charset if charset != "no-such-charset" else "cp1252"
    body = urlencode(params, encoding=encoding).encode("utf-16" if charset == "utf-16" else "ascii")
    response = _post(path.format(sid=sid), params, body=body, content_type=f"{FORM}; charset={charset}")
    _refused(response, caplog)
    assert "the form cannot be read" in response.content.decode()


@pytest.mark.parametrize("path", PATHS)
def test_a_call_webhook_without_a_call_sid_is_refused(world, flows, path, caplog):
    response = _post(path.format(sid=new_call_sid()), _params(None))
    _refused(response, caplog)
    assert response.content == b"Bad request: no CallSid parameter"


@pytest.mark.parametrize("path", PATHS)
@pytest.mark.parametrize("call_sid", ["1" * 28, "CA" + "1" * 14 + "\x00" + "1" * 17, "CA" + "g" * 32,
                                      "CA" + "1" * 33, ""])
def test_a_call_sid_twilio_never_makes_is_refused(world, flows, path, call_sid, caplog):
    """In the form, and in the URL of a call's own webhooks."""
    response = _post(path.format(sid=call_sid or "CA"), _params(call_sid))
    _refused(response, caplog)


@pytest.mark.parametrize("path", ["/twilio/voice/menu/{sid}?flow=open", "/twilio/voice/wait/{sid}"])
def test_a_well_formed_form_with_a_url_naming_another_shape_of_call_is_refused(world, flows, path, caplog):
    sid = new_call_sid()
    response = _post(path.format(sid="1" * 28), _params(sid))
    _refused(response, caplog)
    assert "the URL's CallSid" in response.content.decode()


@pytest.mark.parametrize("path", PATHS + ["/twilio/voice/fallback", "/twilio/messaging/incoming"])
@pytest.mark.parametrize("field", ["From", "Digits", "Body", "Na\x00me"])
def test_a_nul_byte_in_any_parameter_is_refused(world, flows, path, field, caplog):
    sid = new_call_sid()
    params = {**_params(sid), field: "12\x0034"}
    response = _post(path.format(sid=sid), params)
    _refused(response, caplog)
    assert "a NUL byte in the parameter" in response.content.decode()


def test_a_nul_byte_in_the_query_is_refused(world, flows, caplog):
    sid = new_call_sid()
    response = _post(f"/twilio/voice/menu/{sid}?flow=op%00en", _params(sid))
    _refused(response, caplog)


def test_a_well_formed_call_still_gets_its_twiml_and_is_written(world, flows):
    """The control: the same helper, a form Twilio sends (UTF-8, with or without the charset)."""
    sid = new_call_sid()
    first = _post("/twilio/voice/incoming", _params(sid), content_type=f"{FORM}; charset=UTF-8")
    assert first.status_code == HTTPStatus.OK and b"<Gather" in first.content
    menu = _post(f"/twilio/voice/menu/{sid}?flow=open", _params(sid))
    assert menu.status_code == HTTPStatus.OK and b"<Enqueue" in menu.content
    assert CallSession.objects.get(call_sid=sid).state == CallSession.State.QUEUED
