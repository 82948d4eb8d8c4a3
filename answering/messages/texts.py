"""What a message says where it goes: the text an on-call person gets, the call-out's words,
and the links in them. (Its webhook event's payload is ``webhooks.events.message_data``.)"""

from __future__ import annotations

import logging
from urllib.parse import urlsplit

from django.conf import settings
from django.urls import reverse

from answering.messages import display
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
    """The text an on-call person gets: who, what (in the script's order, in words), how to
    call back, how to acknowledge."""
    region = display.client_region(client)
    who = caller_label(message)
    if who == message.callback_number or who == message.caller:
        who = display.phone_text(who, region)
    summary = message_summary(message, client=client, region=region)
    what = display.category_label(message.category)
    parts = [f"[{client.name}] {message.get_urgency_display().upper()} message from {who}"
             + (f" ({what})" if what else "")]
    if message.language and client.languages and message.language != client.languages[0]:
        parts.append(f"Caller speaks {display.language_name(message.language)}")
    if message.callback_number and display.phone_text(message.callback_number, region) != who:
        parts.append(f"Call back {display.phone_text(message.callback_number, region)}")
    if summary:
        parts.append(summary[:300].rstrip("."))
    if message.short_code:
        parts.append(f"Reply OK {message.short_code} to acknowledge")
    return ". ".join(parts) + "."


def message_answers(message: Message, *, client: Client | None = None, region: str | None = None,
                    contact: bool = False) -> list[display.Answer]:
    """The message's answers in its script's order, in words, in the client's zone and country
    (without the caller's name and callback number, said apart, unless ``contact``). Without
    ``client``: the current time zone and the default country."""
    return display.message_answers(message, time_zone=client.time_zone if client else None,
                                   region=region or display.client_region(client),
                                   skip=() if contact else display.CONTACT_FIELDS)


def message_summary(message: Message, *, client: Client | None = None, region: str | None = None) -> str:
    """The answers in one line, in the script's order: "Problem: Leak; Service address: 12 Elm St"."""
    return display.answers_summary(message_answers(message, client=client, region=region), separator="; ")


def callout_text(delivery: Delivery, *, client: Client) -> str:
    message = delivery.message
    region = display.client_region(client)
    who = message.caller_name or "a caller"
    # Read digit by digit, as the number is dialled from the client's country.
    number = " ".join(c for c in display.phone_text(message.callback_number, region) if c.isdigit()) \
        if message.callback_number else "not given"
    summary = message_summary(message, client=client, region=region)
    return (f"This is the answering service for {client.name}, with an {message.get_urgency_display().lower()} "
            f"message from {who}. Callback number: {number}. {summary}.")


def email_context(message: Message, *, client: Client) -> dict:
    """What the email template says, in words: the time in the client's zone (the worker runs in
    UTC), the number as the client writes it, the answers in the script's order."""
    region = display.client_region(client)
    who = message.caller_name or display.phone_text(message.callback_number or message.caller, region) \
        or "unknown caller"
    return {"client": client, "message": message,
            "subject": f"[{client.name}] {message.get_urgency_display()} message from {who}", "summary": message_summary(message, client=client, region=region),
            "answers": message_answers(message, client=client, region=region),
            "taken": display.time_text(message.created, client.time_zone, display.WHEN_LONG),
            "callback": display.phone_text(message.callback_number or message.caller, region),
            "category": display.category_label(message.category),
            "language": display.language_name(message.language)
            if message.language and client.languages and message.language != client.languages[0] else "",
            "portal_url": portal_url(client, f"/messages/{message.pk}/")}
