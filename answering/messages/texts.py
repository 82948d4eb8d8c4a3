"""What a message says where it goes: the text an on-call person gets, the call-out's words,
the webhook's payload and its signature, and the links in them."""

from __future__ import annotations

import hashlib
import hmac
import logging
from urllib.parse import urlsplit

from django.conf import settings
from django.urls import reverse

from answering.models import (
    Delivery,
    Message,
)
from tenants.models import Client

logger = logging.getLogger(__name__)


def twilio_url(name: str, *args) -> str:
    """The public URL of one of our Twilio webhooks (they live on the platform host's URLconf,
    whichever schema or host this runs in)."""
    return settings.PUBLIC_BASE_URL + reverse(name, args=args, urlconf="switchboard.urls_platform")


def portal_url(client: Client, path: str) -> str:
    """A link into the client's portal: its primary domain, with PUBLIC_BASE_URL's scheme and port."""
    base = urlsplit(settings.PUBLIC_BASE_URL)
    domain = client.domains.filter(is_primary=True).values_list("domain", flat=True).first() or base.hostname
    return f"{base.scheme}://{domain}{f':{base.port}' if base.port else ''}{path}"


def caller_label(message: Message, *, unknown: str = "unknown caller") -> str:
    """Who a message is from, as the people it reaches know them: the name the caller gave,
    else the number to call back, else the number they called from."""
    return message.caller_name or message.callback_number or message.caller or unknown


def sms_body(message: Message, *, client: Client) -> str:
    """The text an on-call person gets: who, what, how to call back, how to acknowledge."""
    who = caller_label(message)
    summary = message_summary(message)
    parts = [f"[{client.name}] {message.get_urgency_display().upper()} message from {who}"]
    if message.callback_number and message.callback_number != who:
        parts.append(f"Call back {message.callback_number}")
    if summary:
        parts.append(summary[:300].rstrip("."))
    if message.short_code:
        parts.append(f"Reply OK {message.short_code} to acknowledge")
    return ". ".join(parts) + "."


def message_summary(message: Message) -> str:
    skip = {"caller_name", "name", "callback_number"}
    text = "; ".join(f"{k.replace('_', ' ')}: {v}" for k, v in message.fields.items()
                     if k not in skip and v not in ("", None))
    return text[:1].upper() + text[1:]


def callout_text(delivery: Delivery, *, client: Client) -> str:
    message = delivery.message
    who = message.caller_name or "a caller"
    number = " ".join(message.callback_number.lstrip("+1")) if message.callback_number else "not given"
    summary = message_summary(message)
    return (f"This is the answering service for {client.name}, with an {message.get_urgency_display().lower()} "
            f"message from {who}. Callback number: {number}. {summary}.")


def webhook_signature(secret: str, timestamp: str, body: bytes) -> str:
    """HMAC-SHA256 over ``timestamp + "." + body``, hex — what ``X-Switchboard-Signature`` carries
    as ``t=<timestamp>,v1=<hex>``. Receivers recompute it and refuse timestamps older than 5 minutes."""
    return hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256).hexdigest()


def webhook_payload(message: Message, *, client: Client) -> dict:
    return {"event": "message.created", "client": client.schema_name, "message": {
        "id": message.pk, "created": message.created.isoformat(), "urgency": message.urgency,
        "category": message.category, "caller": message.caller, "caller_name": message.caller_name,
        "callback_number": message.callback_number, "fields": message.fields, "short_code": message.short_code}}
