"""Production serves HTTP through switchboard/wsgi.py (gunicorn): the entry point answers,
a signed webhook included."""

from __future__ import annotations

import io
from urllib.parse import urlencode
from wsgiref.util import setup_testing_defaults

import pytest

from answering.twilio.simulator import new_call_sid, signature

pytestmark = pytest.mark.django_db


def _call(environ: dict) -> tuple[str, bytes]:
    """One request through the WSGI entry point, the way gunicorn calls it — except that the
    test's transaction (its connection) must survive, as Django's test client arranges too."""
    from django.core.signals import request_finished, request_started
    from django.db import close_old_connections

    from switchboard.wsgi import application

    setup_testing_defaults(environ)
    status = []
    request_started.disconnect(close_old_connections)
    request_finished.disconnect(close_old_connections)
    try:
        response = application(environ, lambda s, headers, exc_info=None: status.append(s))
        body = b"".join(response)
        response.close()
    finally:
        request_started.connect(close_old_connections)
        request_finished.connect(close_old_connections)
    return status[0], body


def test_the_wsgi_entry_point_serves_the_platform_host():
    status, body = _call({"REQUEST_METHOD": "GET", "PATH_INFO": "/ping", "HTTP_HOST": "localhost"})
    assert status.startswith("200")


def test_the_wsgi_entry_point_answers_a_signed_webhook_and_refuses_a_forged_one(world):
    params = {"CallSid": new_call_sid(), "AccountSid": "AC" + "0" * 32, "From": "+12125559876",
              "To": "+12125550111", "CallStatus": "ringing", "Direction": "inbound"}
    body = urlencode(params).encode()

    def post(sign: str):
        return _call({"REQUEST_METHOD": "POST", "PATH_INFO": "/twilio/voice/incoming", "HTTP_HOST": "localhost",
                      "CONTENT_TYPE": "application/x-www-form-urlencoded", "CONTENT_LENGTH": str(len(body)),
                      "wsgi.input": io.BytesIO(body), "HTTP_X_TWILIO_SIGNATURE": sign})

    status, answer = post(signature("http://localhost:8000/twilio/voice/incoming", params, None))
    assert status.startswith("200") and b"<Response>" in answer
    assert post("forged")[0].startswith("403")
