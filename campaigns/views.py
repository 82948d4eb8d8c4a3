"""Twilio's webhooks for campaign calls and texts (platform host). Thin: find the attempt in
its client's schema, call ``campaigns.services.outcomes``, answer TwiML.

``/twilio/outbound/<schema>/<attempt>``: the call's URL (answered), ``/status`` (progress and
the end), ``/amd`` (the asynchronous machine detection), ``/undetected`` (the hold ran out),
``/drop`` and ``/harbour`` (the TwiML a call is redirected to). Signed and idempotent like
every Twilio webhook (``answering.twilio.webhooks.twilio_webhook``).
"""

from __future__ import annotations

import functools
from http import HTTPStatus

from django.http import HttpRequest, HttpResponse
from django_tenants.utils import schema_context

from answering.twilio import twiml
from answering.twilio.webhooks import twilio_webhook
from campaigns.services import outcomes
from tenants import selectors as tenant_selectors


def _for_attempt(view):
    """A campaign call's webhook: signed and idempotent, run in the attempt's client schema with
    ``(client, attempt)``; an unknown client or attempt gets a hang-up (or 204), not a 500."""
    @twilio_webhook
    @functools.wraps(view)
    def wrapper(request: HttpRequest, schema: str, attempt_id: int) -> HttpResponse:
        client = tenant_selectors.client_for_schema(schema)
        if client is None:
            return _nothing(view)
        with schema_context(schema):
            attempt = outcomes.attempt_for(attempt_id)
            if attempt is None:
                return _nothing(view)
            # The (sub)account that owns the call, for the redirects and hang-ups that follow.
            attempt.account_sid = request.POST.get("AccountSid", "")
            return view(request, client, attempt)

    return wrapper


def _nothing(view) -> HttpResponse:
    if getattr(view, "callback", False):
        return HttpResponse(status=HTTPStatus.NO_CONTENT)
    return twiml.response(twiml.hangup())


def _callback(view):
    """A callback Twilio only needs acknowledged (204), not TwiML."""
    view.callback = True
    return view


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except ValueError:
        return None


@_for_attempt
def outbound_answer(request: HttpRequest, client, attempt) -> HttpResponse:
    return twiml.response(outcomes.attempt_answered(attempt=attempt, client=client,
                                                    call_sid=request.POST.get("CallSid", "")))


@_for_attempt
@_callback
def outbound_amd(request: HttpRequest, client, attempt) -> HttpResponse:
    outcomes.attempt_detected(attempt=attempt, client=client, answered_by=request.POST.get("AnsweredBy", ""))
    return HttpResponse(status=HTTPStatus.NO_CONTENT)


@_for_attempt
def outbound_undetected(request: HttpRequest, client, attempt) -> HttpResponse:
    return twiml.response(outcomes.attempt_undetected(attempt=attempt, client=client))


@_for_attempt
def outbound_drop(request: HttpRequest, client, attempt) -> HttpResponse:
    return twiml.response(outcomes.drop_twiml(attempt=attempt, client=client))


@_for_attempt
def outbound_harbour(request: HttpRequest, client, attempt) -> HttpResponse:
    return twiml.response(outcomes.harbour_twiml(attempt=attempt, client=client))


@_for_attempt
@_callback
def outbound_status(request: HttpRequest, client, attempt) -> HttpResponse:
    p = request.POST
    outcomes.attempt_status(attempt=attempt, status=p.get("MessageStatus") or p.get("CallStatus", ""),
                            sequence=_int(p.get("SequenceNumber")), call_sid=p.get("CallSid", ""),
                            duration=_int(p.get("CallDuration")), error_code=p.get("ErrorCode", ""))
    return HttpResponse(status=HTTPStatus.NO_CONTENT)
