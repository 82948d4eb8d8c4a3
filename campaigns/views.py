"""Twilio's webhooks for campaign calls and texts (platform host). Thin: find the attempt in
its client's schema, call ``campaigns.services.outcomes``, answer TwiML.

``/twilio/outbound/<schema>/<attempt>``: the call's URL (answered), ``/status`` (progress and
the end), ``/amd`` (the asynchronous machine detection), ``/undetected`` (the hold ran out),
``/drop`` and ``/harbour`` (the TwiML a call is redirected to). Signed and idempotent like
every Twilio webhook (``answering.twilio.webhooks.twilio_webhook``).
"""

from __future__ import annotations

from http import HTTPStatus

from django.http import HttpRequest, HttpResponse
from django_tenants.utils import schema_context

from answering.twilio import twiml
from answering.twilio.webhooks import twilio_webhook
from campaigns.services import outcomes
from tenants import selectors as tenant_selectors


def _attempt(request: HttpRequest, schema: str, attempt_id: int):
    client = tenant_selectors.client_for_schema(schema)
    if client is None:
        return None, None
    attempt = outcomes.attempt_for(attempt_id)
    if attempt is not None:
        # The (sub)account that owns the call, for the redirects and hang-ups that follow.
        attempt.account_sid = request.POST.get("AccountSid", "")
    return client, attempt


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except ValueError:
        return None


@twilio_webhook
def outbound_answer(request: HttpRequest, schema: str, attempt_id: int) -> HttpResponse:
    with schema_context(schema):
        client, attempt = _attempt(request, schema, attempt_id)
        if attempt is None:
            return twiml.response(twiml.hangup())
        return twiml.response(outcomes.attempt_answered(attempt=attempt, client=client,
                                                        call_sid=request.POST.get("CallSid", "")))


@twilio_webhook
def outbound_amd(request: HttpRequest, schema: str, attempt_id: int) -> HttpResponse:
    with schema_context(schema):
        client, attempt = _attempt(request, schema, attempt_id)
        if attempt is not None:
            outcomes.attempt_detected(attempt=attempt, client=client, answered_by=request.POST.get("AnsweredBy", ""))
    return HttpResponse(status=HTTPStatus.NO_CONTENT)


@twilio_webhook
def outbound_undetected(request: HttpRequest, schema: str, attempt_id: int) -> HttpResponse:
    with schema_context(schema):
        client, attempt = _attempt(request, schema, attempt_id)
        if attempt is None:
            return twiml.response(twiml.hangup())
        return twiml.response(outcomes.attempt_undetected(attempt=attempt, client=client))


@twilio_webhook
def outbound_drop(request: HttpRequest, schema: str, attempt_id: int) -> HttpResponse:
    with schema_context(schema):
        client, attempt = _attempt(request, schema, attempt_id)
        if attempt is None:
            return twiml.response(twiml.hangup())
        return twiml.response(outcomes.drop_twiml(attempt=attempt, client=client))


@twilio_webhook
def outbound_harbour(request: HttpRequest, schema: str, attempt_id: int) -> HttpResponse:
    with schema_context(schema):
        client, attempt = _attempt(request, schema, attempt_id)
        if attempt is None:
            return twiml.response(twiml.hangup())
        return twiml.response(outcomes.harbour_twiml(attempt=attempt, client=client))


@twilio_webhook
def outbound_status(request: HttpRequest, schema: str, attempt_id: int) -> HttpResponse:
    p = request.POST
    with schema_context(schema):
        client, attempt = _attempt(request, schema, attempt_id)
        if attempt is not None:
            status = p.get("MessageStatus") or p.get("CallStatus", "")
            outcomes.attempt_status(attempt=attempt, status=status, sequence=_int(p.get("SequenceNumber")),
                                    call_sid=p.get("CallSid", ""), duration=_int(p.get("CallDuration")),
                                    error_code=p.get("ErrorCode", ""))
    return HttpResponse(status=HTTPStatus.NO_CONTENT)
