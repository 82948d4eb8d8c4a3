"""A script as the agent sees it: merge fields filled, in the call's language, and the next
step the answers lead to. Pure: no database."""

from __future__ import annotations

import re
from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import phonenumbers
from django.utils import timezone

from answering.models import ScriptVersion
from answering.scripts.definition import script_normalize
from answering.scripts.validation import NO, YES

GREETINGS = {
    "en": ("good morning", "good afternoon", "good evening"),
    "es": ("buenos días", "buenas tardes", "buenas noches"),
    "fr": ("bonjour", "bonjour", "bonsoir"),
    "pt": ("bom dia", "boa tarde", "boa noite"),
    "zh": ("早上好", "下午好", "晚上好"),
}


def greeting_time(*, at: datetime, time_zone: str, language: str) -> str:
    """“good morning/afternoon/evening” (or the language's own) for ``at`` in ``time_zone``:
    morning before noon, afternoon before 6 pm, evening after."""
    hour = at.astimezone(ZoneInfo(time_zone)).hour
    morning, afternoon, evening = GREETINGS.get(language, GREETINGS["en"])
    return morning if 4 <= hour < 12 else afternoon if 12 <= hour < 18 else evening


@dataclass(frozen=True)
class ScriptContext:
    """What merge fields are filled from."""

    client_name: str
    time_zone: str
    caller_number: str = ""
    agent_first_name: str = ""
    now: datetime | None = None  # default: the moment of rendering


@dataclass(frozen=True)
class EndAction:
    action: str  # message | dispatch | transfer | log
    urgency: str = ""
    category: str = ""
    transfer_to: str = ""


@dataclass(frozen=True)
class RenderedField:
    name: str
    label: str
    type: str
    required: bool
    options: tuple[str, ...] = ()
    min: float | None = None
    max: float | None = None
    max_length: int | None = None


@dataclass(frozen=True)
class RenderedBranch:
    field: str
    equals: str
    goto: str


@dataclass(frozen=True)
class RenderedStep:
    key: str
    say: str  # merge fields filled, in the rendered language
    fields: tuple[RenderedField, ...]
    branches: tuple[RenderedBranch, ...]
    next: str | None
    end: EndAction | None
    kind: str = "question"  # or "appointment": the console books one of ``appointment_types``
    appointment_types: tuple[str, ...] = ()


@dataclass(frozen=True)
class RenderedScript:
    version_id: int | None
    key: str
    name: str
    language: str
    first_step: str
    steps: dict[str, RenderedStep] = field(default_factory=dict)

    @property
    def first(self) -> RenderedStep:
        return self.steps[self.first_step]


def merge(text: str, *, context: ScriptContext, language: str) -> str:
    """Fill ``{client_name}``, ``{caller_number}``, ``{agent_first_name}`` and ``{greeting_time}``;
    a greeting at the start of a sentence gets its capital (“Good morning”, “¡Buenos días!”)."""
    now = context.now or timezone.now()
    values = {
        "client_name": context.client_name,
        "caller_number": _speakable_number(context.caller_number),
        "agent_first_name": context.agent_first_name,
        "greeting_time": greeting_time(at=now, time_zone=context.time_zone, language=language),
    }

    def fill(match: re.Match) -> str:
        name = match.group(1)
        if name not in values:
            return match.group(0)
        value = values[name]
        before = text[:match.start()].rstrip()
        if name == "greeting_time" and (not before or before[-1] in ".!?¡¿"):
            value = value[:1].upper() + value[1:]
        return value

    return re.sub(r"\{(\w+)\}", fill, text)


def _speakable_number(number: str) -> str:
    try:
        parsed = phonenumbers.parse(number, "US")
    except phonenumbers.NumberParseException:
        return number
    fmt = phonenumbers.PhoneNumberFormat.NATIONAL if parsed.country_code == 1 else \
        phonenumbers.PhoneNumberFormat.INTERNATIONAL
    return phonenumbers.format_number(parsed, fmt)


def version_definition(version: ScriptVersion | Mapping[str, Any]) -> Mapping[str, Any]:
    """A version's definition (stored canonical), or a plain definition made canonical."""
    return version.definition if isinstance(version, ScriptVersion) else script_normalize(version)


def script_render(*, version: ScriptVersion | Mapping[str, Any], language: str,
                  context: ScriptContext) -> RenderedScript:
    """The script as the agent sees it in ``language`` (falling back to the script's first
    language for a language it lacks), merge fields filled; ``first_step`` is where to start."""
    d = version_definition(version)
    steps = {}
    for s in d["steps"]:
        text = s["say"].get(language) or next(iter(s["say"].values()), "")
        end = s["end"]
        steps[s["key"]] = RenderedStep(
            key=s["key"], say=merge(text, context=context, language=language),
            fields=tuple(RenderedField(name=f["name"], label=f["label"], type=f["type"], required=f["required"],
                                       options=tuple(f["options"]), min=f["min"], max=f["max"],
                                       max_length=f["max_length"]) for f in s["fields"]),
            branches=tuple(RenderedBranch(**b) for b in s["branches"]),
            next=s["next"],
            end=EndAction(**end) if end else None,
            kind=s.get("kind") or "question", appointment_types=tuple(s.get("appointment_types") or ()),
        )
    return RenderedScript(version_id=version.pk if isinstance(version, ScriptVersion) else None, key=d["key"],
                          name=d["name"], language=language, first_step=d["steps"][0]["key"], steps=steps)


@dataclass(frozen=True)
class Next:
    """Where a step leads: another step, or the end action that finishes the script."""

    step: str | None = None
    end: EndAction | None = None


def script_next_step(*, version: ScriptVersion | Mapping[str, Any], step: str, answers: Mapping[str, Any]) -> Next:
    """Where ``step`` leads given ``answers`` (by field name): the first branch whose field's
    answer equals its value, else the step's next step, else its end action. Pure."""
    d = version_definition(version)
    current = next((s for s in d["steps"] if s["key"] == step), None)
    if current is None:
        raise KeyError(f"No step “{step}” in script “{d['key']}”.")
    for b in current["branches"]:
        if b["field"] in answers and _same_answer(answers[b["field"]], b["equals"]):
            return Next(step=b["goto"])
    if current["next"]:
        return Next(step=current["next"])
    if current["end"]:
        return Next(end=EndAction(**current["end"]))
    raise ValueError(f"Step “{step}” has nowhere to go with these answers.")  # script_validate prevents it


def _same_answer(answer: Any, value: str) -> bool:
    if isinstance(answer, bool):
        answer = "yes" if answer else "no"
    answer = str(answer).strip().casefold()
    value = value.strip().casefold()
    if answer in YES and value in YES or answer in NO and value in NO:
        return True
    return answer == value
