"""The portal's templates' words for stored values: thin wrappers of answering.messages.display
(the one place that turns a code, a number or an instant into words)."""

from __future__ import annotations

from django import template
from django.utils.html import format_html

from answering.messages import display

register = template.Library()

SUMMARY_LENGTH = 140


def _region(context) -> str:
    """The host client's country, looked up once per client object (the request's)."""
    client = context.get("host_client")
    if client is None:
        return display.DEFAULT_REGION
    if not hasattr(client, "_display_region"):
        client._display_region = display.client_region(client)
    return client._display_region


@register.filter
def field_label(name: str) -> str:
    """``callback_number`` → "Callback number" (a field its script does not label)."""
    return display.field_label(name)


@register.filter
def field_value(value) -> str:
    return display.value_text(value)


@register.simple_tag(takes_context=True)
def answers(context, message, contact: bool = True):
    """``{% answers message as found %}``: its answers in the script's order, in words
    (``contact=False`` leaves out the name and callback number, shown apart)."""
    return display.message_answers(message, region=_region(context),
                                   skip=() if contact else display.CONTACT_FIELDS)


@register.simple_tag(takes_context=True)
def summary(context, message, length: int = SUMMARY_LENGTH) -> str:
    """The answers in one line, for the inbox, in the script's order (name and number are shown apart)."""
    text = display.answers_summary(display.message_answers(message, region=_region(context),
                                                           skip=display.CONTACT_FIELDS))
    return text if len(text) <= length else text[: length - 1] + "…"


@register.simple_tag(takes_context=True)
def phone(context, number, fallback: str = "") -> str:
    """A number as a tap-to-call link, written nationally for the client's country."""
    if not number:
        return fallback
    href = display.tel_href(number)
    text = display.phone_text(number, _region(context))
    return format_html('<a class="tel" href="{}">{}</a>', href, text) if href else text


@register.simple_tag(takes_context=True)
def phone_text(context, number) -> str:
    return display.phone_text(number, _region(context))


@register.simple_tag(takes_context=True)
def phone_record(context, number) -> str:
    """A number in a record (the DNC list, the ledger): written nationally, E.164 on hover,
    not a link (nobody taps to call a number on the do-not-call list)."""
    text = display.phone_text(number, _region(context))
    return format_html('<span class="number" title="{}">{}</span>', number, text) if number else ""


@register.filter
def when(at, fmt: str = "") -> str:
    """An instant in the client's zone (the portal's pages run in it), saying which: "Mon 2 Mar, 09:00 EST"."""
    return display.time_text(at, None, fmt or display.WHEN) if at else ""


@register.filter
def when_long(at) -> str:
    return display.time_text(at, None, display.WHEN_LONG) if at else ""


@register.filter
def language(code: str) -> str:
    return display.language_name(code)


@register.filter
def category(value: str) -> str:
    return display.category_label(value)


@register.filter
def menu_choice(value: str) -> str:
    return display.menu_choice_label(value)


@register.filter
def seconds(value) -> str:
    """125 → "2:05"; None → "—"."""
    if value is None or value == "":
        return "—"
    value = int(value)
    hours, rest = divmod(value, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"
