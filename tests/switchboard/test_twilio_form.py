"""Twilio's parameters, parsed and signed by our own short code: the same as Django's and
the Twilio library's, for every kind of body."""

from __future__ import annotations

from http import HTTPStatus

import pytest
from django.core.exceptions import BadRequest
from django.http import QueryDict
from django.test import RequestFactory
from twilio.request_validator import RequestValidator

from answering.twilio.webhooks import _read_form, _signature

BODIES = [
    b"CallSid=CA1&From=%2B13125551234&To=%2B13125550160&CallerCity=SAN+FRANCISCO",
    b"Digits=&SpeechResult=&Confidence",  # blank values, and a name without '='
    b"a=1&a=2&b=3&a=1",  # repeated names keep every value, in order
    b"&&x=1&&",  # empty fields are skipped
    "Body=Se%C3%B1or+Mu%C3%B1oz%2C+50%25+off%21&Name=Zo%C3%AB".encode(),
    "Body=Señor".encode(),  # raw UTF-8, unescaped
    b"Body=%E9t%E9&City=Montr\xe9al",  # not UTF-8: read as Latin-1, as Django does
    b"Body=%FF%FE&x=%zz&y=100%",  # bad escapes are kept as sent; undecodable bytes replaced
    b"a%3Db=c%26d&%2B=+",  # escaped separators in names and values
    b"",
]


@pytest.mark.parametrize("body", BODIES)
def test_twilio_parameters_are_read_as_django_reads_them(body):
    request = RequestFactory().post("/twilio/voice/incoming", body, content_type="application/x-www-form-urlencoded")
    _read_form(request)
    assert sorted(request.POST.lists()) == sorted(QueryDict(body).lists())


def test_other_content_types_are_left_to_django():
    request = RequestFactory().post("/twilio/voice/incoming", {"CallSid": "CA1"})  # multipart
    _read_form(request)
    assert request.POST["CallSid"] == "CA1" and isinstance(request.POST, QueryDict)


def test_another_charset_is_left_to_django():
    """Which refuses it (a 400): form bodies must be UTF-8 since Django 5.0."""
    request = RequestFactory().post("/twilio/voice/incoming", b"City=Montr%E9al",
                                    content_type="application/x-www-form-urlencoded; charset=iso-8859-1")
    _read_form(request)
    with pytest.raises(BadRequest):
        request.POST


def test_too_many_parameters_get_a_400(client, settings, world):
    settings.DATA_UPLOAD_MAX_NUMBER_FIELDS = 10
    body = "&".join(f"p{n}=1" for n in range(11))
    response = client.post("/twilio/voice/status", body, content_type="application/x-www-form-urlencoded",
                           HTTP_HOST="localhost", HTTP_X_TWILIO_SIGNATURE="x")
    assert response.status_code == HTTPStatus.BAD_REQUEST


@pytest.mark.parametrize("body", BODIES)
@pytest.mark.parametrize("url", ["https://answer.example.com/twilio/voice/incoming",
                                 "https://answer.example.com/twilio/voice/menu/CA1?flow=open&x=%20"])
def test_the_signature_is_the_twilio_librarys(body, url):
    params = QueryDict(body)
    assert _signature("token-1", url, params) == RequestValidator("token-1").compute_signature(url, params)
