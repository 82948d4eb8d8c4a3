"""Twilio's webhooks (platform host). Thin: parse Twilio's parameters, call ivr/acd, return TwiML."""

from __future__ import annotations

import functools
import logging
from http import HTTPStatus

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.http import Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.urls import reverse
from django_tenants.utils import schema_context
from twilio.jwt.access_token import AccessToken
from twilio.jwt.access_token.grants import VoiceGrant

from answering.acd import selectors as acd_selectors
from answering.acd import services as acd
from answering.acd.models import CallSession
from answering.flow import cache as flow_cache
from answering.flow import ivr, outage
from answering.messages import delivery as delivery_services
from answering.messages import selectors as delivery_selectors
from answering.messages.acknowledge import callout_pressed
from answering.messages.services import inbound_sms_receive
from answering.messages.texts import callout_text
from answering.twilio import twiml
from answering.twilio.webhooks import request_key, twilio_webhook
from tenants import selectors as tenant_selectors
from tenants.phone import to_e164

logger = logging.getLogger("switchboard.twilio")


# --- While the database is down (answering/twilio/webhooks.py: database_down) ----------------

def _outage_voicemail(request: HttpRequest) -> HttpResponse:
    """The fallback's answer, from the call's own URL: a voicemail, kept until the database
    is back (answering/flow/outage.py)."""
    return _fallback_answer(request, reason="database down")


def _outage_voicemail_unrecorded(request: HttpRequest) -> HttpResponse:
    """The same, for a URL whose recording (if any) is the conversation's, not a voicemail."""
    return _fallback_answer(request, reason="database down", keep_recording=False)


def _outage_hold(request: HttpRequest) -> HttpResponse:
    """A caller waiting in Twilio's queue keeps waiting (no agent can be offered the call
    meanwhile): music, and the wait URL asked again."""
    logger.error("database down: call %s held in the queue", request.POST.get("CallSid"))
    return twiml.response(twiml.hold(None, 5))


def _outage_unavailable(request: HttpRequest) -> HttpResponse:
    logger.error("database down: %s for call %s not recorded (CallStatus=%s RecordingUrl=%s)", request.path,
                 request.POST.get("CallSid"), request.POST.get("CallStatus", "-"), request.POST.get("RecordingUrl", "-"))
    return HttpResponse("The database is unavailable.", status=HTTPStatus.SERVICE_UNAVAILABLE,
                        content_type="text/plain")


def _fallback_answer(request: HttpRequest, *, reason: str, keep_recording: bool = True) -> HttpResponse:
    """What the fallback says (touching neither the database nor Redis): please leave a
    message; and, once the caller has, that it is recorded — the recording kept in this
    host's spool until the database can take it."""
    p = request.POST
    recorded = request.GET.get("recorded") == "1" or (keep_recording and "RecordingUrl" in p)
    spooled = outage.voicemail_spool(p) if recorded else None
    logger.error("FALLBACK (%s) call %s from %s to %s (ErrorCode=%s ErrorUrl=%s) recording=%s%s", reason,
                 p.get("CallSid"), p.get("From"), p.get("To"), p.get("ErrorCode"), p.get("ErrorUrl"),
                 p.get("RecordingUrl", "-"), f" kept in {spooled}" if spooled else "")
    return twiml.response(twiml.fallback(recorded))


def _int(value: str | None) -> int | None:
    try:
        return int(value) if value not in (None, "") else None
    except ValueError:
        return None


@functools.lru_cache(maxsize=4096)  # the numbers dialed are ours, a few hundred: parse each once
def _e164(raw_number: str) -> str | None:
    try:
        return to_e164(raw_number)
    except ValidationError:
        return None


def _client_for(number: str | None):
    if number is None:
        return None
    return flow_cache.client_for_number(number, lambda: tenant_selectors.client_for_number(number))


def _session(call_sid: str) -> CallSession:
    session = acd_selectors.call_by_sid(call_sid)
    if session is None:
        raise Http404("No such call.")
    return session


def _menu_session(request: HttpRequest, call_sid: str) -> CallSession:
    """The call whose caller is in the menu; written again if the database lost its arrival
    (``acd.call_recover``). Only to the number Twilio names in the same request, and only
    when that number answers for a client."""
    session = acd_selectors.call_by_sid(call_sid)
    if session is not None:
        return session
    p = request.POST
    number = _e164(p.get("To", ""))
    client = _client_for(number) if p.get("CallSid") == call_sid else None
    if client is None:
        raise Http404("No such call.")
    return acd.call_recover(call_sid=call_sid, client=client, from_number=p.get("From", ""), to_number=number,
                            account_sid=p.get("AccountSid", ""))


@twilio_webhook(idempotent=False, call_sid_required=True,  # call_arrive stores the answer with the call
                database_down=_outage_voicemail)
def voice_incoming(request: HttpRequest) -> HttpResponse:
    p = request.POST
    number = _e164(p.get("To", ""))
    client, flow = ivr.client_and_flow(number) if number else (None, None)
    if client is None:
        logger.warning("call %s to unknown number %s from %s", p.get("CallSid"), p.get("To"), p.get("From"))
        return twiml.response(twiml.not_in_service())
    session = acd.call_new(call_sid=p["CallSid"], client=client, from_number=p.get("From", ""),
                           to_number=number, account_sid=p.get("AccountSid", ""),
                           from_city=p.get("FromCity", ""), from_state=p.get("FromState", ""))
    reply = ivr.call_start_text(session, flow)
    answer = acd.call_arrive(session=session, reply=reply, request_key=request_key(request), path=request.path)
    outage.spooled_voicemails_store_soon()  # the database works: voicemails kept while it did not go in
    return HttpResponse(answer, content_type="text/xml")


@twilio_webhook(call_sid_required=True, database_down=_outage_voicemail)
def voice_language(request: HttpRequest, call_sid: str) -> HttpResponse:
    return twiml.response(ivr.language_chosen(_menu_session(request, call_sid), request.POST.get("Digits", "")))


@twilio_webhook(call_sid_required=True, database_down=_outage_voicemail)
def voice_menu(request: HttpRequest, call_sid: str) -> HttpResponse:
    flow = request.GET.get("flow", "open")
    return twiml.response(ivr.menu_chosen(_menu_session(request, call_sid), flow, request.POST.get("Digits", "")))


@twilio_webhook(call_sid_required=True, database_down=_outage_hold)
def voice_wait(request: HttpRequest, call_sid: str) -> HttpResponse:
    p = request.POST
    return twiml.response(ivr.queue_wait(_session(call_sid), position=_int(p.get("QueuePosition")) or 1,
                                         queue_time=_int(p.get("QueueTime")) or 0,
                                         average=_int(p.get("AvgQueueTime")) or 0))


@twilio_webhook(call_sid_required=True, database_down=_outage_voicemail)
def voice_queue_exit(request: HttpRequest, call_sid: str) -> HttpResponse:
    return twiml.response(ivr.queue_exited(_session(call_sid), request.POST.get("QueueResult", "")))


@twilio_webhook(call_sid_required=True, database_down=_outage_voicemail)
def voice_connect(request: HttpRequest, call_sid: str) -> HttpResponse:
    return twiml.response(ivr.connect(_session(call_sid)))


@twilio_webhook(call_sid_required=True, database_down=_outage_voicemail_unrecorded)
def voice_dial_status(request: HttpRequest, call_sid: str) -> HttpResponse:
    return twiml.response(ivr.dial_ended(_session(call_sid), request.POST.get("DialCallStatus", "")))


@twilio_webhook(call_sid_required=True, database_down=_outage_voicemail)
def voice_voicemail(request: HttpRequest, call_sid: str) -> HttpResponse:
    p = request.POST
    return twiml.response(ivr.voicemail_left(_session(call_sid), recording_sid=p.get("RecordingSid", ""),
                                             recording_url=p.get("RecordingUrl", ""),
                                             duration=_int(p.get("RecordingDuration"))))


@twilio_webhook(call_sid_required=True, database_down=_outage_unavailable)
def voice_recording(request: HttpRequest, call_sid: str) -> HttpResponse:
    p = request.POST
    if p.get("RecordingStatus", "completed") == "completed":
        ivr.recording_ready(_session(call_sid), recording_sid=p.get("RecordingSid", ""),
                            recording_url=p.get("RecordingUrl", ""), duration=_int(p.get("RecordingDuration")))
    return HttpResponse(status=HTTPStatus.NO_CONTENT)


@twilio_webhook(call_sid_required=True, database_down=_outage_unavailable)
def voice_status(request: HttpRequest) -> HttpResponse:
    p = request.POST
    session = acd_selectors.call_by_sid(p.get("CallSid", ""))
    if session is None:
        logger.info("status %s for unknown call %s", p.get("CallStatus"), p.get("CallSid"))
    else:
        acd.call_status_update(session=session, status=p.get("CallStatus", ""), sequence=_int(p.get("SequenceNumber")))
    return HttpResponse(status=HTTPStatus.NO_CONTENT)


@twilio_webhook(idempotent=False, use_database=False)
def voice_fallback(request: HttpRequest) -> HttpResponse:
    """Twilio's fallback: must answer with the database and Redis down, so it touches neither;
    the voicemail it takes is spooled on this host's disk (answering/flow/outage.py)."""
    return _fallback_answer(request, reason="Twilio's fallback")


@twilio_webhook
def messaging_incoming(request: HttpRequest) -> HttpResponse:
    p = request.POST
    client = _client_for(_e164(p.get("To", "")))
    if client is None:
        logger.warning("SMS %s to unknown number %s", p.get("MessageSid"), p.get("To"))
        return twiml.response(twiml.sms_reply(None))
    with schema_context(client.schema_name):
        reply = inbound_sms_receive(client=client, message_sid=p.get("MessageSid", ""), from_number=p.get("From", ""),
                                    to_number=p.get("To", ""), body=p.get("Body", ""),
                                    num_media=_int(p.get("NumMedia")) or 0,
                                    twilio_replied=bool(p.get("OptOutType")))
    return twiml.response(twiml.sms_reply(reply))


@twilio_webhook
def messaging_status(request: HttpRequest) -> HttpResponse:
    """Status of a text we sent (message delivery); the client is in the callback's query."""
    p = request.POST
    client = tenant_selectors.client_for_schema(request.GET.get("client", ""))
    if client is None:
        logger.info("SMS %s status %s for no known client", p.get("MessageSid"), p.get("MessageStatus"))
        return HttpResponse(status=HTTPStatus.NO_CONTENT)
    with schema_context(client.schema_name):
        delivery = delivery_selectors.delivery_for_provider(sid=p.get("MessageSid", ""), channel="sms",
                                                            to=p.get("To", ""))
        if delivery is not None:
            delivery_services.delivery_status_record(delivery=delivery, provider_status=p.get("MessageStatus", ""),
                                                     error_code=p.get("ErrorCode", ""), sid=p.get("MessageSid", ""),
                                                     client=client)
    return HttpResponse(status=HTTPStatus.NO_CONTENT)


# --- Call-outs: reading a message to an on-call person, who presses 1 to acknowledge ---------

def _callout(schema: str, delivery_id: int):
    client = tenant_selectors.client_for_schema(schema)
    if client is None:
        return None, None
    with schema_context(schema):
        delivery = delivery_selectors.delivery_get(delivery_id)
    return client, delivery


@twilio_webhook
def callout(request: HttpRequest, schema: str, delivery_id: int) -> HttpResponse:
    client, delivery = _callout(schema, delivery_id)
    if delivery is None:
        return twiml.response(twiml.hangup())
    with schema_context(schema):
        text = callout_text(delivery, client=client)
        acknowledged = delivery.message.acknowledged_at is not None
    action = reverse("twilio_callout_gather", args=[schema, delivery_id])
    return twiml.response(twiml.callout(text, action=action, already_acknowledged=acknowledged))


@twilio_webhook
def callout_gather(request: HttpRequest, schema: str, delivery_id: int) -> HttpResponse:
    client, delivery = _callout(schema, delivery_id)
    if delivery is None:
        return twiml.response(twiml.hangup())
    digits = request.POST.get("Digits", "")
    with schema_context(schema):
        if callout_pressed(delivery=delivery, digits=digits, client=client) or \
                delivery.message.acknowledged_at is not None:
            return twiml.response(twiml.callout_acknowledged())
    return twiml.response(twiml.redirect(reverse("twilio_callout", args=[schema, delivery_id])))


@twilio_webhook
def callout_status(request: HttpRequest, schema: str, delivery_id: int) -> HttpResponse:
    client, delivery = _callout(schema, delivery_id)
    if delivery is not None:
        with schema_context(schema):
            delivery_services.delivery_status_record(delivery=delivery, provider_status=request.POST.get("CallStatus", ""),
                                                     error_code=request.POST.get("ErrorCode", ""), client=client)
    return HttpResponse(status=HTTPStatus.NO_CONTENT)


# --- The agent's browser phone -------------------------------------------------------------

@login_required
def agent_voice_token(request: HttpRequest) -> JsonResponse:
    """A Twilio Voice SDK access token for the logged-in agent: their browser rings when a
    call they accepted is connected (the identity matches ivr.agent_identity)."""
    user = request.user
    if not (user.is_platform_user and hasattr(user, "agent_profile")):
        return JsonResponse({"error": "Only agents have a browser phone."}, status=HTTPStatus.FORBIDDEN)
    if settings.TWILIO_MODE == "simulate":
        # No Twilio to sign for: the console's simulated device (static/console/phone_sim.js)
        # registers over the agent's socket and the call simulator rings it.
        return JsonResponse({"identity": ivr.agent_identity(user.pk), "token": "simulated", "ttl": VOICE_TOKEN_TTL,
                             "simulated": True})
    if not (settings.TWILIO_API_KEY_SID and settings.TWILIO_API_KEY_SECRET and settings.TWILIO_TWIML_APP_SID):
        return JsonResponse({"error": "The browser phone is not configured: set TWILIO_API_KEY_SID, "
                                      "TWILIO_API_KEY_SECRET and TWILIO_TWIML_APP_SID."},
                            status=HTTPStatus.SERVICE_UNAVAILABLE)
    identity = ivr.agent_identity(user.pk)
    token = AccessToken(settings.TWILIO_ACCOUNT_SID, settings.TWILIO_API_KEY_SID, settings.TWILIO_API_KEY_SECRET,
                        identity=identity, ttl=VOICE_TOKEN_TTL)
    token.add_grant(VoiceGrant(outgoing_application_sid=settings.TWILIO_TWIML_APP_SID, incoming_allow=True))
    return JsonResponse({"identity": identity, "token": token.to_jwt(), "ttl": VOICE_TOKEN_TTL, "simulated": False})


VOICE_TOKEN_TTL = 3600  # seconds; the console asks for a new token well before it runs out


@login_required
def console(request: HttpRequest) -> HttpResponse:
    """The agent console: one page; everything live arrives over /ws/agent/."""
    if not (request.user.is_platform_user and hasattr(request.user, "agent_profile")):
        return HttpResponse("The console is for agents.", status=HTTPStatus.FORBIDDEN)
    return render(request, "console/console.html", {"grace_seconds": settings.CONSOLE_GRACE_SECONDS})


@login_required
def wallboard(request: HttpRequest) -> HttpResponse:
    """Supervisors' wallboard: one page; figures arrive over /ws/wallboard/."""
    if request.user.role not in ("supervisor", "platform_admin"):
        return HttpResponse("The wallboard is for supervisors.", status=HTTPStatus.FORBIDDEN)
    return render(request, "console/wallboard.html")
