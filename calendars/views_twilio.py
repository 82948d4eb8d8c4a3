"""Twilio's URLs for appointments' confirmations and reminders (on the platform host, under
/twilio/, signed and idempotent like every other): the words of a spoken reminder, and the
status callbacks of a notice's text or call. Thin: find the notice, call the service."""

from __future__ import annotations

from http import HTTPStatus

from django.http import HttpRequest, HttpResponse
from django_tenants.utils import schema_context

from answering.twilio import twiml
from answering.twilio.webhooks import twilio_webhook
from calendars.models import AppointmentNotice
from calendars.services.notices import notice_status_record
from tenants import selectors as tenant_selectors


def _notice(schema: str, notice_id: int):
    client = tenant_selectors.client_for_schema(schema)
    if client is None:
        return None, None
    with schema_context(schema):
        return client, AppointmentNotice.objects.filter(pk=notice_id).select_related("appointment").first()


@twilio_webhook
def notice_call(request: HttpRequest, schema: str, notice_id: int) -> HttpResponse:
    """The person picked up the reminder call: the reminder's words (recorded on the notice
    when it was sent), said twice, then goodbye."""
    _, notice = _notice(schema, notice_id)
    if notice is None or not notice.body:
        return twiml.response(twiml.hangup())
    words = twiml.Spoken(text=notice.body, **twiml.DEFAULT_VOICE)
    return twiml.response(twiml.say_then_hangup([words, words]))


@twilio_webhook
def notice_status(request: HttpRequest, schema: str, notice_id: int) -> HttpResponse:
    """Status of a notice's text (MessageStatus) or call (CallStatus); the notice is in the URL,
    so a callback that overtakes our recording of the SID still finds it."""
    client, notice = _notice(schema, notice_id)
    if notice is not None:
        p = request.POST
        with schema_context(schema):
            notice_status_record(notice=notice, provider_status=p.get("MessageStatus") or p.get("CallStatus", ""),
                                 error_code=p.get("ErrorCode", ""), sid=p.get("MessageSid") or p.get("CallSid", ""),
                                 client=client)
    return HttpResponse(status=HTTPStatus.NO_CONTENT)
