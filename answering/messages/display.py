"""Stored values in words, for the people who read them: the portal's pages, the emails and
texts to on-call people, the CSV exports' times.

The one place that turns a code into words: a language code into its name, a menu choice
(``after_hours:1``) into "After hours — option 1", a category into a capitalised one, an
answer into how a person says it (E.164 into the client's national format, an ISO time into
the client's local time with its zone). Templates use it through ``portal_tags``; texts.py
directly. Pure functions, except ``menu_labels`` and ``client_region`` (one query each).
"""

from __future__ import annotations

import zoneinfo
from dataclasses import dataclass
from datetime import UTC, date, datetime
from typing import Any

import phonenumbers
from django.utils import timezone
from django.utils.dateformat import format as date_format

from tenants.models.clients import LANGUAGES
from tenants.phone import DEFAULT_REGION

LANGUAGE_NAMES = dict(LANGUAGES)
FLOW_NAMES = {"open": "Business hours", "after_hours": "After hours"}
# How a time is written for a person, with its zone ("T": EST, CDT, ...); Django's date format.
WHEN = "D j M, H:i T"
WHEN_LONG = "l j F Y, H:i T"
# Fields shown apart from the rest (the caller's name and how to call back).
CONTACT_FIELDS = ("caller_name", "name", "callback_number")


def language_name(code: str) -> str:
    """``es`` → "Spanish"; an unknown code is shown as it is, upper-cased."""
    return LANGUAGE_NAMES.get(code or "", (code or "").upper())


def menu_choice_label(choice: str, labels: dict[str, str] | None = None) -> str:
    """``after_hours:1`` → "After hours — option 1" (with the option's own label when known:
    "After hours — option 1: Emergency service"); "" when the caller chose nothing."""
    if not choice:
        return ""
    flow, _, digit = choice.partition(":")
    if flow not in FLOW_NAMES or not digit:
        return humanize(choice)
    text = f"{FLOW_NAMES[flow]} — option {digit}"
    label = (labels or {}).get(choice)
    return f"{text}: {label}" if label else text


def menu_labels() -> dict[str, str]:
    """The client's menu options by choice ("after_hours:1" → "Emergency service"), in its schema."""
    from answering.models import MenuOption

    return {f"{flow}:{digit}": label for flow, digit, label in MenuOption.objects.values_list("flow", "digit", "label")}


def humanize(value: str) -> str:
    """A code-like word in words: ``service_request`` → "Service request"; words a person
    wrote ("HVAC emergency", "Emergency") are left as they are."""
    text = str(value or "").strip()
    if not text or text != text.lower():
        return text
    text = text.replace("_", " ")
    return text[:1].upper() + text[1:]


def category_label(category: str) -> str:
    return humanize(category)


def field_label(name: str) -> str:
    """A field with no label in its script: ``callback_number`` → "Callback number"."""
    text = str(name).replace("_", " ").strip()
    return text[:1].upper() + text[1:]


# --- Phone numbers ---------------------------------------------------------------------------

def client_region(client) -> str:
    """The client's country, as phonenumbers names it: its first number's (else the default)."""
    number = client.phone_numbers.order_by("pk").values_list("number", flat=True).first() if client else None
    if number:
        try:
            region = phonenumbers.region_code_for_number(phonenumbers.parse(number))
        except phonenumbers.NumberParseException:
            region = None
        if region and region != "001":
            return region
    return DEFAULT_REGION


def phone_text(number: str, region: str = DEFAULT_REGION) -> str:
    """E.164 as the client's office writes it: nationally when in its country, else internationally."""
    if not number:
        return ""
    try:
        parsed = phonenumbers.parse(number, region)
    except phonenumbers.NumberParseException:
        return number  # a withheld or odd caller ID: as Twilio gave it
    national = phonenumbers.region_code_for_country_code(parsed.country_code) == region or (
        parsed.country_code == phonenumbers.country_code_for_region(region))
    return phonenumbers.format_number(parsed, phonenumbers.PhoneNumberFormat.NATIONAL if national
                                      else phonenumbers.PhoneNumberFormat.INTERNATIONAL)


def tel_href(number: str) -> str:
    """The ``tel:`` link of a number (E.164 dials from anywhere); "" when it is no number."""
    digits = "".join(c for c in str(number or "") if c.isdigit() or c == "+")
    return f"tel:{digits}" if sum(c.isdigit() for c in digits) >= 3 else ""


# --- Times -------------------------------------------------------------------------------------

def _zone(time_zone) -> zoneinfo.ZoneInfo:
    if time_zone is None:
        return timezone.get_current_timezone()
    return time_zone if isinstance(time_zone, zoneinfo.ZoneInfo) else zoneinfo.ZoneInfo(str(time_zone))


def time_text(at: datetime | None, time_zone=None, fmt: str = WHEN) -> str:
    """An instant in the client's zone, saying which: "Mon 2 Mar, 09:00 EST" (the current
    zone — the portal's pages run in the client's — unless ``time_zone`` is given)."""
    if at is None:
        return ""
    if timezone.is_naive(at):
        at = at.replace(tzinfo=UTC)  # stored instants are UTC
    return date_format(at.astimezone(_zone(time_zone)), fmt)


def iso_local(at: datetime | None, time_zone) -> str:
    """An instant for a CSV: ISO 8601 in the client's zone, its offset stating which."""
    return at.astimezone(_zone(time_zone)).isoformat(timespec="seconds") if at else ""


# --- Captured answers --------------------------------------------------------------------------

@dataclass(frozen=True)
class Answer:
    name: str
    label: str
    type: str
    value: Any
    text: str  # the value in words
    href: str = ""  # a tel: or mailto: link, when it is one


def definition_fields(definition: dict | None) -> list[dict]:
    """The fields of a script version's definition, in the script's order (steps, then fields)."""
    if not isinstance(definition, dict):
        return []
    return [f for step in definition.get("steps") or [] if isinstance(step, dict)
            for f in step.get("fields") or [] if isinstance(f, dict) and f.get("name")]


def value_text(value: Any, kind: str = "text", *, time_zone=None, region: str = DEFAULT_REGION) -> str:
    """One answer as a person says it."""
    if value is None:
        return ""
    if value is True or (kind == "yes_no" and str(value).casefold() == "yes"):
        return "Yes"
    if value is False or (kind == "yes_no" and str(value).casefold() == "no"):
        return "No"
    if isinstance(value, (list, tuple)):
        return ", ".join(value_text(v, kind, time_zone=time_zone, region=region) for v in value)
    if isinstance(value, dict):
        return ", ".join(f"{field_label(k)}: {value_text(v, time_zone=time_zone, region=region)}"
                         for k, v in value.items())
    text = str(value)
    if kind == "phone":
        return phone_text(text, region)
    if kind == "datetime":
        try:
            return time_text(datetime.fromisoformat(text), time_zone, WHEN)
        except ValueError:
            return text
    if kind == "date":
        try:
            return date_format(date.fromisoformat(text), "D j M Y")
        except ValueError:
            return text
    return text


def message_answers(message, *, time_zone=None, region: str = DEFAULT_REGION, skip=()) -> list[Answer]:
    """A message's captured answers in its script's order, labelled as the script labels them;
    answers the script does not name (an older script, a voicemail) come last, in the order
    stored. Empty answers and the names in ``skip`` are left out."""
    fields = message.fields if isinstance(message.fields, dict) else {}
    version = getattr(message, "script_version", None) if getattr(message, "script_version_id", None) else None
    specs = {f["name"]: f for f in definition_fields(version.definition if version else None)}
    order = {name: i for i, name in enumerate(specs)}
    names = sorted(fields, key=lambda n: (order.get(n, len(order)),))  # sorted() is stable: unknowns keep their order
    answers = []
    for name in names:
        value = fields[name]
        if name in skip or value in ("", None, [], {}):
            continue
        spec = specs.get(name, {})
        kind = spec.get("type", "text")
        href = tel_href(value) if kind == "phone" else (f"mailto:{value}" if kind == "email" else "")
        answers.append(Answer(name=name, label=spec.get("label") or field_label(name), type=kind, value=value,
                              text=value_text(value, kind, time_zone=time_zone, region=region), href=href))
    return answers


def answers_summary(answers: list[Answer], *, separator: str = " · ") -> str:
    """Answers in one line, in order: "Problem: No heat · Service address: 12 Elm St"."""
    return separator.join(f"{a.label.rstrip('?:')}: {a.text}" for a in answers)
