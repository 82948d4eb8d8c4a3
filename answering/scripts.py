"""Scripts: validation, publishing, JSON import/export, rendering and branching.

Every function here runs inside one client's schema. The definition of a script is one
JSON document (documented in docs/scripts.md); the admin edits it as rows, the import
takes it as JSON, and both go through ``script_validate`` before anything is written.
A published ``ScriptVersion`` holds the definition frozen; the console renders a version
with ``script_render`` and follows it with ``script_next_step``.
"""

from __future__ import annotations

import hashlib
import json
import re
import string
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import transaction
from django.utils import timezone

from answering.models import Script, ScriptBranch, ScriptField, ScriptStep, ScriptVersion
from tenants.phone import to_e164

FIELD_TYPES = ("text", "phone", "email", "address", "yes_no", "choice", "date", "datetime", "number")
END_ACTIONS = ("message", "dispatch", "transfer", "log")
URGENCIES = ("normal", "urgent")
MERGE_FIELDS = ("client_name", "caller_number", "agent_first_name", "greeting_time")
MENU_CHOICE = re.compile(r"^(open|after_hours):[0-9*#]$")
KEY = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")
LANGUAGE_NAMES = {"en": "English", "es": "Spanish", "fr": "French", "pt": "Portuguese", "zh": "Chinese"}
YES = {"yes", "y", "true", "1", "si", "sí"}
NO = {"no", "n", "false", "0"}

SCRIPT_KEYS = {"key", "name", "description", "used_for", "is_default", "steps"}
STEP_KEYS = {"key", "say", "fields", "branches", "next", "end"}
FIELD_KEYS = {"name", "label", "type", "required", "options", "min", "max", "max_length"}
BRANCH_KEYS = {"field", "equals", "goto"}
END_KEYS = {"action", "urgency", "category", "transfer_to"}


# --- Problems --------------------------------------------------------------------------

@dataclass(frozen=True)
class Problem:
    """One reason a script is refused; ``step`` names the step it is about (None: the whole script)."""

    message: str
    step: str | None = None

    def __str__(self) -> str:
        return f"Step “{self.step}”: {self.message}" if self.step else self.message


class ScriptInvalid(Exception):
    """A script was refused; ``problems`` says why, naming the steps."""

    def __init__(self, problems: Sequence[Problem]):
        self.problems = list(problems)
        super().__init__("; ".join(str(p) for p in self.problems))


# --- Validation ------------------------------------------------------------------------

def script_validate(*, definition: Mapping[str, Any], languages: Sequence[str]) -> list[Problem]:
    """Every problem with a script definition, each naming its step; an empty list means valid.

    Refused: malformed documents, a dead end (no next step, no end action, branches that do
    not cover every answer), a step unreachable from the first, a loop with no way out, a
    branch on a field no step captures or on a value the field cannot have, a step missing
    the agent's text in one of ``languages``, unknown merge fields, duplicate field names.
    """
    problems = _structure_problems(definition)
    if problems:
        return problems
    d = script_normalize(definition)
    problems = []
    if not KEY.match(d["key"]):
        problems.append(Problem(f"The script key “{d['key']}” must be lower-case letters, digits, - or _."))
    if not d["name"].strip():
        problems.append(Problem("The script needs a name."))
    for choice in d["used_for"]:
        if not MENU_CHOICE.match(choice):
            problems.append(Problem(f"“{choice}” is not a menu choice; write flow:digit, e.g. open:1 or after_hours:2."))
    if len(set(d["used_for"])) != len(d["used_for"]):
        problems.append(Problem("A menu choice is listed twice."))
    steps = d["steps"]
    if not steps:
        return [*problems, Problem("A script needs at least one step.")]

    by_key: dict[str, dict] = {}
    for step in steps:
        if not KEY.match(step["key"]):
            problems.append(Problem("the key must be lower-case letters, digits, - or _.", step["key"] or "(blank)"))
        if step["key"] in by_key:
            problems.append(Problem("two steps have this key.", step["key"]))
        by_key.setdefault(step["key"], step)

    fields: dict[str, dict] = {}
    field_step: dict[str, str] = {}
    for step in steps:
        for f in step["fields"]:
            if f["name"] in fields:
                problems.append(Problem(f"the field name “{f['name']}” is already used on step “{field_step[f['name']]}”.",
                                        step["key"]))
                continue
            fields[f["name"]] = f
            field_step[f["name"]] = step["key"]

    for step in steps:
        problems += _step_problems(step, by_key, fields, languages)

    problems += _graph_problems(steps, by_key)
    return problems


def _structure_problems(d: Any) -> list[Problem]:
    """The document's shape: types and known keys, before any meaning is checked."""
    if not isinstance(d, Mapping):
        return [Problem("A script is a JSON object.")]
    problems = [Problem(f"Unknown key “{k}” in the script.") for k in d if k not in SCRIPT_KEYS]
    for name in ("key", "name"):
        if not isinstance(d.get(name), str) or not d.get(name):
            problems.append(Problem(f"The script needs “{name}” (a string)."))
    if "used_for" in d and not (isinstance(d["used_for"], list) and all(isinstance(c, str) for c in d["used_for"])):
        problems.append(Problem("“used_for” is a list of menu choices such as \"open:1\"."))
    if "is_default" in d and not isinstance(d["is_default"], bool):
        problems.append(Problem("“is_default” is true or false."))
    steps = d.get("steps")
    if not isinstance(steps, list):
        return [*problems, Problem("“steps” is a list of steps.")]
    for i, step in enumerate(steps, 1):
        if not isinstance(step, Mapping) or not isinstance(step.get("key"), str):
            problems.append(Problem(f"Step {i} is not an object with a “key”."))
            continue
        name = step["key"] or f"#{i}"
        problems += [Problem(f"unknown key “{k}”.", name) for k in step if k not in STEP_KEYS]
        say = step.get("say", {})
        if not isinstance(say, Mapping) or not all(isinstance(v, str) for v in say.values()):
            problems.append(Problem("“say” maps a language code to the agent's text.", name))
        for kind, known, required in (("fields", FIELD_KEYS, ("name", "label", "type")),
                                      ("branches", BRANCH_KEYS, ("field", "equals", "goto"))):
            items = step.get(kind, [])
            if not isinstance(items, list):
                problems.append(Problem(f"“{kind}” is a list.", name))
                continue
            for j, item in enumerate(items, 1):
                if not isinstance(item, Mapping):
                    problems.append(Problem(f"{kind} #{j} is not an object.", name))
                    continue
                problems += [Problem(f"{kind} #{j}: unknown key “{k}”.", name) for k in item if k not in known]
                problems += [Problem(f"{kind} #{j} needs “{k}” (a string).", name)
                             for k in required if not isinstance(item.get(k), str)]
                if kind == "fields":
                    if not isinstance(item.get("options", []), list):
                        problems.append(Problem(f"fields #{j}: “options” is a list of strings.", name))
                    for k in ("min", "max", "max_length"):
                        v = item.get(k)
                        if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float))):
                            problems.append(Problem(f"fields #{j}: “{k}” is a number.", name))
        if step.get("next") is not None and not isinstance(step.get("next"), str):
            problems.append(Problem("“next” is a step key.", name))
        end = step.get("end")
        if end is not None:
            if not isinstance(end, Mapping) or not isinstance(end.get("action"), str):
                problems.append(Problem("“end” is an object with an “action”.", name))
            else:
                problems += [Problem(f"end: unknown key “{k}”.", name) for k in end if k not in END_KEYS]
    return problems


def _step_problems(step: dict, by_key: dict, fields: dict, languages: Sequence[str]) -> list[Problem]:
    key = step["key"]
    problems = []
    for language in languages:
        if not step["say"].get(language, "").strip():
            problems.append(Problem(f"the {LANGUAGE_NAMES.get(language, language)} text ({language}) is missing.", key))
    for language, text in step["say"].items():
        problems += [Problem(f"{message} ({language}).", key) for message in merge_field_problems(text)]
    for f in step["fields"]:
        name = f["name"]
        if not KEY.match(name):
            problems.append(Problem(f"the field name “{name}” must be lower-case letters, digits, - or _.", key))
        if not f["label"].strip():
            problems.append(Problem(f"the field “{name}” needs a label.", key))
        if f["type"] not in FIELD_TYPES:
            problems.append(Problem(f"the field “{name}” has an unknown type “{f['type']}”; use {', '.join(FIELD_TYPES)}.",
                                    key))
        if f["type"] == "choice" and len(f["options"]) < 2:
            problems.append(Problem(f"the choice “{name}” needs at least two options.", key))
        if f["type"] != "choice" and f["options"]:
            problems.append(Problem(f"the field “{name}” is not a choice but has options.", key))
        if f["min"] is not None and f["max"] is not None and f["min"] > f["max"]:
            problems.append(Problem(f"the field “{name}” has a minimum above its maximum.", key))
    for b in step["branches"]:
        f = fields.get(b["field"])
        if f is None:
            problems.append(Problem(f"a branch tests the field “{b['field']}”, which no step captures.", key))
        elif f["type"] == "yes_no" and b["equals"].casefold() not in ("yes", "no"):
            problems.append(Problem(f"a branch tests “{b['field']}” for “{b['equals']}”, but it is yes or no.", key))
        elif f["type"] == "choice" and b["equals"] not in f["options"]:
            problems.append(Problem(f"a branch tests “{b['field']}” for “{b['equals']}”, which is not one of its "
                                    f"options ({', '.join(f['options'])}).", key))
        if b["goto"] not in by_key:
            problems.append(Problem(f"a branch goes to “{b['goto']}”, which is not a step.", key))
    if step["next"] and step["next"] not in by_key:
        problems.append(Problem(f"the next step “{step['next']}” does not exist.", key))
    end = step["end"]
    if end:
        if step["next"]:
            problems.append(Problem("it has both a next step and an end action; keep one.", key))
        if end["action"] not in END_ACTIONS:
            problems.append(Problem(f"unknown end action “{end['action']}”; use {', '.join(END_ACTIONS)}.", key))
        if end.get("urgency") and end["urgency"] not in URGENCIES:
            problems.append(Problem(f"unknown urgency “{end['urgency']}”; use normal or urgent.", key))
        if end["action"] == "transfer":
            try:
                to_e164(end.get("transfer_to", ""))
            except ValidationError as exc:
                problems.append(Problem(f"the transfer needs a valid number: {exc.messages[0]}", key))
    elif not step["next"] and not _branches_cover_every_answer(step, fields):
        problems.append(Problem("it is a dead end: no next step, no end action, and its branches do not cover "
                                "every answer.", key))
    return problems


def merge_field_problems(text: str) -> list[str]:
    """What is wrong with the merge fields of ``text`` (e.g. an unknown ``{client}``)."""
    try:
        parsed = list(string.Formatter().parse(text))
    except ValueError:
        return ["unbalanced braces; write merge fields as {name} and nothing else in braces"]
    problems = []
    for _, name, spec, conversion in parsed:
        if name is None:
            continue
        if name not in MERGE_FIELDS:
            problems.append(f"unknown merge field {{{name}}}; use {', '.join('{' + m + '}' for m in MERGE_FIELDS)}")
        elif spec or conversion:
            problems.append(f"write the merge field as {{{name}}}")
    return problems


def _branches_cover_every_answer(step: dict, fields: dict) -> bool:
    """A step may leave only by branches when they cover every answer of a required
    yes/no or choice field asked on the step itself."""
    own = {f["name"]: f for f in step["fields"]}
    for name in {b["field"] for b in step["branches"]}:
        f = own.get(name)
        if not f or not f["required"]:
            continue
        covered = {b["equals"].casefold() for b in step["branches"] if b["field"] == name}
        values = {"yes", "no"} if f["type"] == "yes_no" else {o.casefold() for o in f["options"]}
        if f["type"] in ("yes_no", "choice") and values <= covered:
            return True
    return False


def _graph_problems(steps: list[dict], by_key: dict) -> list[Problem]:
    edges = {s["key"]: [b["goto"] for b in s["branches"] if b["goto"] in by_key]
             + ([s["next"]] if s["next"] in by_key else []) for s in steps}
    first = steps[0]["key"]
    reachable = _reach(first, edges)
    problems = [Problem(f"it is unreachable: no path leads to it from the first step “{first}”.", s["key"])
                for s in steps if s["key"] not in reachable]
    # Which steps can still get to an end action? The others, if they are not dead ends
    # already reported, go round in a loop with no way out.
    reverse: dict[str, list[str]] = {k: [] for k in edges}
    for source, targets in edges.items():
        for target in targets:
            reverse[target].append(source)
    ending = set()
    for s in steps:
        if s["end"]:
            ending |= _reach(s["key"], reverse)
    stuck = [k for k in edges if k in reachable and k not in ending]
    for key in stuck:
        loop = _cycle_through(key, edges, set(stuck))
        if loop:
            problems.append(Problem(f"it is in a loop with no way out ({' → '.join(loop)}): no path from it reaches "
                                    "an end action.", key))
    return problems


def _reach(start: str, edges: Mapping[str, list[str]]) -> set[str]:
    seen, todo = {start}, [start]
    while todo:
        for nxt in edges.get(todo.pop(), []):
            if nxt not in seen:
                seen.add(nxt)
                todo.append(nxt)
    return seen


def _cycle_through(start: str, edges: Mapping[str, list[str]], within: set[str]) -> list[str] | None:
    """A path start → ... → start inside ``within``, if there is one."""
    todo = [(start, [start])]
    seen = set()
    while todo:
        node, path = todo.pop()
        for nxt in edges.get(node, []):
            if nxt == start:
                return [*path, start]
            if nxt in within and nxt not in seen:
                seen.add(nxt)
                todo.append((nxt, [*path, nxt]))
    return None


# --- The definition: normal form, rows, checksum ------------------------------------------

def script_normalize(definition: Mapping[str, Any]) -> dict:
    """The canonical form of a (structurally valid) definition: every key present, in order."""
    def number(value):
        if value is None:
            return None
        value = Decimal(str(value))
        return int(value) if value == value.to_integral_value() else float(value)

    def end(e):
        if not e:
            return None
        action = e.get("action", "")
        out = {"action": action}
        if action in ("message", "dispatch"):
            out["urgency"] = e.get("urgency") or ("urgent" if action == "dispatch" else "normal")
            out["category"] = e.get("category") or ""
        if action == "transfer":
            raw = e.get("transfer_to") or ""
            try:
                out["transfer_to"] = to_e164(raw)
            except ValidationError:
                out["transfer_to"] = raw
        return out

    return {
        "key": definition.get("key", ""),
        "name": definition.get("name", ""),
        "description": definition.get("description", "") or "",
        "used_for": [c.strip() for c in definition.get("used_for", [])],
        "is_default": bool(definition.get("is_default", False)),
        "steps": [{
            "key": s.get("key", ""),
            "say": {lang: text for lang, text in (s.get("say") or {}).items()},
            "fields": [{
                "name": f.get("name", ""), "label": f.get("label", ""), "type": f.get("type", "text"),
                "required": bool(f.get("required", False)), "options": [str(o) for o in f.get("options") or []],
                "min": number(f.get("min")), "max": number(f.get("max")),
                "max_length": int(f["max_length"]) if f.get("max_length") is not None else None,
            } for f in s.get("fields") or []],
            "branches": [{"field": b.get("field", ""), "equals": b.get("equals", ""), "goto": b.get("goto", "")}
                         for b in s.get("branches") or []],
            "next": s.get("next") or None,
            "end": end(s.get("end")),
        } for s in definition.get("steps", [])],
    }


def script_definition(*, script: Script) -> dict:
    """The definition held by a script's rows (what the admin edits), in canonical form."""
    fields: dict[str, list[ScriptField]] = {}
    for f in script.fields.all():
        fields.setdefault(f.step_key, []).append(f)
    branches: dict[str, list[ScriptBranch]] = {}
    for b in script.branches.all():
        branches.setdefault(b.step_key, []).append(b)
    return script_normalize({
        "key": script.key, "name": script.name, "description": script.description,
        "used_for": list(script.used_for), "is_default": script.is_default,
        "steps": [{
            "key": s.key, "say": dict(s.say),
            "fields": [{"name": f.name, "label": f.label, "type": f.type, "required": f.required,
                        "options": list(f.options), "min": f.min_value, "max": f.max_value,
                        "max_length": f.max_length} for f in fields.get(s.key, [])],
            "branches": [{"field": b.field_name, "equals": b.equals, "goto": b.goto_step}
                         for b in branches.get(s.key, [])],
            "next": s.next_step or None,
            "end": {"action": s.end_action, "urgency": s.end_urgency, "category": s.end_category,
                    "transfer_to": s.transfer_to} if s.end_action else None,
        } for s in script.steps.all()],
    })


def _checksum(definition: dict) -> str:
    return hashlib.sha256(json.dumps(definition, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def _write_rows(script: Script, d: dict) -> None:
    """Replace a script's steps, fields and branches with those of definition ``d``."""
    script.steps.all().delete()
    script.fields.all().delete()
    script.branches.all().delete()
    for position, s in enumerate(d["steps"]):
        end = s["end"] or {}
        ScriptStep.objects.create(
            script=script, position=position, key=s["key"], say=s["say"], next_step=s["next"] or "",
            end_action=end.get("action", ""), end_urgency=end.get("urgency", ""),
            end_category=end.get("category", ""), transfer_to=end.get("transfer_to", ""),
        )
        for i, f in enumerate(s["fields"]):
            ScriptField.objects.create(
                script=script, step_key=s["key"], position=i, name=f["name"], label=f["label"], type=f["type"],
                required=f["required"], options=f["options"], min_value=f["min"], max_value=f["max"],
                max_length=f["max_length"],
            )
        for i, b in enumerate(s["branches"]):
            ScriptBranch.objects.create(script=script, step_key=s["key"], position=i, field_name=b["field"],
                                        equals=b["equals"], goto_step=b["goto"])


def current_client_languages() -> list[str]:
    """The languages of the client whose schema is active."""
    from tenants.selectors import client_current

    return list(client_current().languages)


def current_client_time_zone() -> str:
    from tenants.selectors import client_current

    return client_current().time_zone


def script_menu_conflicts(*, key: str, used_for: Sequence[str], is_default: bool) -> list[Problem]:
    """Menu choices (or the default flag) another script of this client already claims."""
    problems = []
    others = Script.objects.exclude(key=key)
    for choice in used_for:
        other = others.filter(used_for__contains=[choice]).first()
        if other:
            problems.append(Problem(f"The menu choice {choice} already gets the script “{other.name}”."))
    if is_default and others.filter(is_default=True).exists():
        problems.append(Problem(f"“{others.get(is_default=True).name}” is already the default script."))
    return problems


# --- Services -------------------------------------------------------------------------

def script_publish(*, script: Script, by=None, languages: Sequence[str] | None = None) -> ScriptVersion:
    """Publish what the script's rows say as its current version.

    Refuses (``ScriptInvalid``, nothing written) an invalid script. Idempotent: when the
    rows say what the current version says, that version is returned and nothing changes;
    otherwise a new version is created and earlier versions stay exactly as they were.
    """
    languages = list(languages) if languages is not None else current_client_languages()
    definition = script_definition(script=script)
    problems = script_validate(definition=definition, languages=languages)
    if problems:
        raise ScriptInvalid(problems)
    checksum = _checksum(definition)
    with transaction.atomic():
        # Lock the script: two publishers at once must not both take the same number.
        locked = Script.objects.select_for_update().get(pk=script.pk)
        current = locked.current_version
        if current is not None and current.checksum == checksum:
            return current
        last = locked.versions.order_by("-number").values_list("number", flat=True).first() or 0
        version = ScriptVersion.objects.create(script=locked, number=last + 1, definition=definition,
                                               checksum=checksum, published_by=by)
        Script.objects.filter(pk=locked.pk).update(current_version=version)
    script.current_version = version
    return version


def script_import_json(*, data: str | bytes | Mapping[str, Any], by=None,
                       languages: Sequence[str] | None = None) -> Script:
    """Create or replace the script with the document's key, and publish it.

    Refuses (``ScriptInvalid`` with step-named problems) a document that is not JSON, not a
    valid script, or claims a menu choice another script has; then nothing is written.
    Importing the same document twice publishes one version.
    """
    if isinstance(data, (str, bytes)):
        try:
            data = json.loads(data)
        except ValueError as exc:
            raise ScriptInvalid([Problem(f"Not JSON: {exc}.")]) from exc
    languages = list(languages) if languages is not None else current_client_languages()
    problems = script_validate(definition=data, languages=languages)
    if problems:
        raise ScriptInvalid(problems)
    d = script_normalize(data)
    problems = script_menu_conflicts(key=d["key"], used_for=d["used_for"], is_default=d["is_default"])
    if problems:
        raise ScriptInvalid(problems)
    with transaction.atomic():
        script, _ = Script.objects.select_for_update().get_or_create(key=d["key"], defaults={"name": d["name"]})
        script.name, script.description = d["name"], d["description"]
        script.used_for, script.is_default = d["used_for"], d["is_default"]
        script.save()
        _write_rows(script, d)
        script_publish(script=script, by=by, languages=languages)
    return script


def script_export_json(*, script: Script) -> dict:
    """The script as a JSON-ready document that ``script_import_json`` takes back unchanged."""
    return script_definition(script=script)


# --- Rendering and branching (pure) -----------------------------------------------------

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
    import phonenumbers

    try:
        parsed = phonenumbers.parse(number, "US")
    except phonenumbers.NumberParseException:
        return number
    fmt = phonenumbers.PhoneNumberFormat.NATIONAL if parsed.country_code == 1 else \
        phonenumbers.PhoneNumberFormat.INTERNATIONAL
    return phonenumbers.format_number(parsed, fmt)


def _definition(version: ScriptVersion | Mapping[str, Any]) -> Mapping[str, Any]:
    """A version's definition (stored canonical), or a plain definition made canonical."""
    return version.definition if isinstance(version, ScriptVersion) else script_normalize(version)


def script_render(*, version: ScriptVersion | Mapping[str, Any], language: str,
                  context: ScriptContext) -> RenderedScript:
    """The script as the agent sees it in ``language`` (falling back to the script's first
    language for a language it lacks), merge fields filled; ``first_step`` is where to start."""
    d = _definition(version)
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
    d = _definition(version)
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


# --- Answers --------------------------------------------------------------------------

@dataclass
class CleanedAnswers:
    """The answers along the path the script took: cleaned values, per-field errors, the end."""

    values: dict[str, Any]
    errors: dict[str, list[str]]
    path: list[str]
    end: EndAction | None


def field_clean(spec: Mapping[str, Any], raw: Any, *, time_zone: str) -> Any:
    """One answer, cleaned for storage (phone → E.164, yes/no → "yes"/"no", dates → ISO),
    or ``ValidationError`` saying what is wrong. Blank gives None (``required`` is the caller's)."""
    if raw is None or (isinstance(raw, str) and not raw.strip()):
        return None
    kind = spec["type"]
    if kind == "yes_no":
        if isinstance(raw, bool):
            return "yes" if raw else "no"
        value = str(raw).strip().casefold()
        if value in YES:
            return "yes"
        if value in NO:
            return "no"
        raise ValidationError("Answer yes or no.")
    text = str(raw).strip()
    if kind == "phone":
        return to_e164(text)
    if kind == "email":
        validate_email(text)
        return text
    if kind == "choice":
        for option in spec["options"]:
            if option.casefold() == text.casefold():
                return option
        raise ValidationError(f"Choose one of: {', '.join(spec['options'])}.")
    if kind == "number":
        try:
            number = Decimal(text.replace(",", ""))
        except InvalidOperation:
            raise ValidationError("Enter a number.") from None
        if spec.get("min") is not None and number < Decimal(str(spec["min"])):
            raise ValidationError(f"The smallest allowed is {spec['min']}.")
        if spec.get("max") is not None and number > Decimal(str(spec["max"])):
            raise ValidationError(f"The largest allowed is {spec['max']}.")
        return int(number) if number == number.to_integral_value() else float(number)
    if kind == "date":
        try:
            return date.fromisoformat(text).isoformat()
        except ValueError:
            raise ValidationError("Enter a date as YYYY-MM-DD.") from None
    if kind == "datetime":
        try:
            moment = datetime.fromisoformat(text)
        except ValueError:
            raise ValidationError("Enter a date and time as YYYY-MM-DD HH:MM.") from None
        if moment.tzinfo is None:  # the caller speaks in the client's local time
            moment = moment.replace(tzinfo=ZoneInfo(time_zone))
        return moment.isoformat()
    if kind == "address" and len(text) < 5:
        raise ValidationError("Enter the full address (street, number, town).")
    if spec.get("max_length") and len(text) > spec["max_length"]:
        raise ValidationError(f"At most {spec['max_length']} characters.")
    return text


def script_answers_clean(*, version: ScriptVersion | Mapping[str, Any], answers: Mapping[str, Any],
                         time_zone: str) -> CleanedAnswers:
    """Walk the script from its first step with ``answers``, cleaning each field on the way.

    Only steps the answers lead through count: a required field on a branch not taken is not
    required. The walk stops at the first step with an error (its branches cannot be trusted).
    """
    d = _definition(version)
    by_key = {s["key"]: s for s in d["steps"]}
    values: dict[str, Any] = {}
    errors: dict[str, list[str]] = {}
    path: list[str] = []
    step = d["steps"][0]["key"]
    while True:
        if step in path:
            errors.setdefault("__all__", []).append(f"These answers go round in a loop at step “{step}”.")
            return CleanedAnswers(values, errors, path, None)
        path.append(step)
        for spec in by_key[step]["fields"]:
            try:
                value = field_clean(spec, answers.get(spec["name"]), time_zone=time_zone)
            except ValidationError as exc:
                errors[spec["name"]] = exc.messages
                continue
            if value is None:
                if spec["required"]:
                    errors[spec["name"]] = [f"{spec['label']}: this answer is required."]
                continue
            values[spec["name"]] = value
        if errors:
            return CleanedAnswers(values, errors, path, None)
        nxt = script_next_step(version=d, step=step, answers=values)
        if nxt.end is not None:
            return CleanedAnswers(values, errors, path, nxt.end)
        step = nxt.step
