"""Scripts' vocabulary and validation: what a script definition may say, and every problem
with one, each named by where it is. The definition of a script is one JSON document
(docs/scripts.md); the admin edits it as rows, the import takes it as JSON, and both go
through ``script_validate`` before anything is written."""

from __future__ import annotations

import re
import string
from collections.abc import Collection, Mapping, Sequence
from dataclasses import dataclass
from typing import Any

from django.core.exceptions import ValidationError

from answering.models import Script, ScriptBranch, ScriptField, ScriptStep
from answering.scripts.definition import script_normalize
from tenants.phone import to_e164

FIELD_TYPES = ("text", "phone", "email", "address", "yes_no", "choice", "date", "datetime", "number")


END_ACTIONS = ("message", "dispatch", "transfer", "log", "callback")


STEP_KINDS = ("question", "appointment")


URGENCIES = ("normal", "urgent")


MERGE_FIELDS = ("client_name", "caller_number", "agent_first_name", "greeting_time")
# A campaign call's contact (campaigns/screen.py fills them; an inbound call leaves them as
# written): its own fields, and its list's custom columns as {fields.<column>}.
CONTACT_MERGE_FIELDS = ("first_name", "last_name", "name", "number", "email", "state", "postal_code", "reason")
CONTACT_CUSTOM_FIELD = re.compile(r"fields\.\w+")


MENU_CHOICE = re.compile(r"^(open|after_hours):[0-9*#]$")


KEY = re.compile(r"^[a-z0-9][a-z0-9_-]{0,39}$")


LANGUAGE_NAMES = {"en": "English", "es": "Spanish", "fr": "French", "pt": "Portuguese", "zh": "Chinese"}


YES = {"yes", "y", "true", "1", "si", "sí"}


NO = {"no", "n", "false", "0"}


SCRIPT_KEYS = {"key", "name", "description", "used_for", "is_default", "steps"}


STEP_KEYS = {"key", "kind", "appointment_types", "say", "fields", "branches", "next", "end"}


FIELD_KEYS = {"name", "label", "type", "required", "options", "min", "max", "max_length"}


BRANCH_KEYS = {"field", "equals", "goto"}


END_KEYS = {"action", "urgency", "category", "transfer_to"}


# Limits of a document, so a hostile or broken one is refused with a message instead of
# exhausting the parser, the stack or a column: a script is a few kilobytes, six levels deep.
MAX_DOCUMENT_CHARS = 1_000_000
MAX_DEPTH = 20  # objects and lists inside one another
MAX_STEPS = 200
MAX_ITEMS = 100  # fields or branches of one step, options of one field
MAX_NUMBER = 10 ** 10  # min and max: DecimalField(max_digits=12, decimal_places=2)
MAX_INTEGER = 2 ** 31 - 1  # max_length: PositiveIntegerField

# The columns' lengths, from the models, by where the value sits in the document.
SCRIPT_LENGTHS = {"name": Script._meta.get_field("name").max_length}
FIELD_LENGTHS = {"label": ScriptField._meta.get_field("label").max_length}
OPTION_LENGTH = ScriptField._meta.get_field("options").base_field.max_length
BRANCH_LENGTHS = {"equals": ScriptBranch._meta.get_field("equals").max_length}
END_LENGTHS = {"category": ScriptStep._meta.get_field("end_category").max_length}
TYPE_NAME_LENGTH = ScriptStep._meta.get_field("appointment_types").base_field.max_length


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


def script_validate(*, definition: Mapping[str, Any], languages: Sequence[str],
                    appointment_types: Collection[str] | None = None) -> list[Problem]:
    """Every problem with a script definition, each naming its step; an empty list means valid.

    Refused: malformed documents, a dead end (no next step, no end action, branches that do
    not cover every answer), a step unreachable from the first, a loop with no way out, a
    branch on a field no step captures or on a value the field cannot have, a step missing
    the agent's text in one of ``languages``, unknown merge fields, duplicate field names, an
    appointment step offering no type or a type not among ``appointment_types`` (the
    client's active types, by name; None: not checked, for a document read on its own).
    """
    problems = document_problems(definition)
    if problems:
        return problems
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
        problems += _appointment_problems(step, appointment_types)

    problems += _graph_problems(steps, by_key)
    return problems


def document_problems(document: Any) -> list[Problem]:
    """Limits no script comes near: nesting too deep, a NUL character in a text (which the
    database cannot store). Walked without recursion, so any depth is safe to look at."""
    problems: list[Problem] = []
    todo: list[tuple[Any, str, int]] = [(document, "", 1)]
    while todo:
        value, path, depth = todo.pop()
        if isinstance(value, Mapping | list):
            if depth > MAX_DEPTH:
                return [Problem(f"The document is nested more than {MAX_DEPTH} levels deep (at {path or 'the top'}); "
                                "a script is an object of steps, fields and branches, a few levels deep.")]
            children = value.items() if isinstance(value, Mapping) else enumerate(value)
            for key, child in children:
                if isinstance(key, str) and "\x00" in key:
                    problems.append(Problem(f"A key at {path or 'the top'} contains a NUL character."))
                todo.append((child, f"{path}.{key}" if isinstance(key, str) else f"{path}[{key}]", depth + 1))
        elif isinstance(value, str) and "\x00" in value:
            problems.append(Problem(f"“{path.lstrip('.')}” contains a NUL character, which text cannot hold."))
    return problems


def _too_long(value: Any, limit: int, what: str, step: str | None = None) -> list[Problem]:
    if isinstance(value, str) and len(value) > limit:
        return [Problem(f"{what} is {len(value)} characters long; at most {limit}.", step)]
    return []


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
    for name, limit in SCRIPT_LENGTHS.items():
        problems += _too_long(d.get(name), limit, f"The script's “{name}”")
    if "description" in d and not isinstance(d["description"], str | None):
        problems.append(Problem("“description” is a string."))
    steps = d.get("steps")
    if not isinstance(steps, list):
        return [*problems, Problem("“steps” is a list of steps.")]
    if len(steps) > MAX_STEPS:
        return [*problems, Problem(f"The script has {len(steps)} steps; at most {MAX_STEPS}.")]
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
            if len(items) > MAX_ITEMS:
                problems.append(Problem(f"it has {len(items)} {kind}; at most {MAX_ITEMS}.", name))
                continue
            for j, item in enumerate(items, 1):
                if not isinstance(item, Mapping):
                    problems.append(Problem(f"{kind} #{j} is not an object.", name))
                    continue
                problems += [Problem(f"{kind} #{j}: unknown key “{k}”.", name) for k in item if k not in known]
                problems += [Problem(f"{kind} #{j} needs “{k}” (a string).", name)
                             for k in required if not isinstance(item.get(k), str)]
                for k, limit in (FIELD_LENGTHS if kind == "fields" else BRANCH_LENGTHS).items():
                    problems += _too_long(item.get(k), limit, f"{kind} #{j}: “{k}”", name)
                if kind == "fields":
                    options = item.get("options", [])
                    if not isinstance(options, list) or len(options) > MAX_ITEMS:
                        problems.append(Problem(f"fields #{j}: “options” is a list of at most {MAX_ITEMS} strings.",
                                                name))
                    else:
                        for n, option in enumerate(options, 1):
                            if not isinstance(option, str | int | float) or isinstance(option, bool):
                                problems.append(Problem(f"fields #{j}: option #{n} is a string.", name))
                            problems += _too_long(str(option), OPTION_LENGTH, f"fields #{j}: option #{n}", name)
                    for k in ("min", "max", "max_length"):
                        v = item.get(k)
                        if v is not None and (isinstance(v, bool) or not isinstance(v, (int, float))):
                            problems.append(Problem(f"fields #{j}: “{k}” is a number.", name))
                        elif k != "max_length" and v is not None and not -MAX_NUMBER < v < MAX_NUMBER:
                            problems.append(Problem(f"fields #{j}: “{k}” is a number between "
                                                    f"-{MAX_NUMBER:,} and {MAX_NUMBER:,}.", name))
                        elif k == "max_length" and v is not None and (
                                (isinstance(v, float) and not v.is_integer()) or not 0 <= v <= MAX_INTEGER):
                            problems.append(Problem(f"fields #{j}: “max_length” is a whole number from 0 to "
                                                    f"{MAX_INTEGER:,}.", name))
        if "kind" in step and not isinstance(step["kind"], str):
            problems.append(Problem(f"“kind” is one of {', '.join(STEP_KINDS)}.", name))
        types = step.get("appointment_types", [])
        if not isinstance(types, list) or len(types) > MAX_ITEMS or not all(isinstance(t, str) for t in types):
            problems.append(Problem(f"“appointment_types” is a list of at most {MAX_ITEMS} appointment type names.",
                                    name))
        else:
            for n, type_name in enumerate(types, 1):
                problems += _too_long(type_name, TYPE_NAME_LENGTH, f"appointment type #{n}", name)
        if step.get("next") is not None and not isinstance(step.get("next"), str):
            problems.append(Problem("“next” is a step key.", name))
        end = step.get("end")
        if end is not None:
            if not isinstance(end, Mapping) or not isinstance(end.get("action"), str):
                problems.append(Problem("“end” is an object with an “action”.", name))
            else:
                problems += [Problem(f"end: unknown key “{k}”.", name) for k in end if k not in END_KEYS]
                for k in ("urgency", "category", "transfer_to"):
                    if end.get(k) is not None and not isinstance(end[k], str):
                        problems.append(Problem(f"end: “{k}” is a string.", name))
                for k, limit in END_LENGTHS.items():
                    problems += _too_long(end.get(k), limit, f"end: “{k}”", name)
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


def _appointment_problems(step: dict, known: Collection[str] | None) -> list[Problem]:
    """An appointment step books one of the types it names (each an active type of the
    client's calendars); its intake fields are the type's, so it asks nothing of its own."""
    key, kind, types = step["key"], step.get("kind", "question"), step.get("appointment_types", [])
    if kind not in STEP_KINDS:
        return [Problem(f"unknown kind “{kind}”; use {', '.join(STEP_KINDS)}.", key)]
    if kind == "question":
        return [Problem("only an appointment step offers appointment types; set its kind to appointment or "
                        "remove them.", key)] if types else []
    problems = []
    if not types:
        problems.append(Problem("an appointment step offers at least one appointment type (by name).", key))
    if len(set(types)) != len(types):
        problems.append(Problem("an appointment type is listed twice.", key))
    if step["fields"]:
        problems.append(Problem("an appointment step asks the appointment type's intake fields; put other "
                                "questions on a step of their own.", key))
    if known is not None:
        for name in types:
            if name not in known:
                offered = ", ".join(sorted(known)) or "none yet: add them under Calendars"
                problems.append(Problem(f"it offers the appointment type “{name}”, which is not one of the "
                                        f"client's active appointment types ({offered}).", key))
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
        if name not in MERGE_FIELDS and name not in CONTACT_MERGE_FIELDS and not CONTACT_CUSTOM_FIELD.fullmatch(name):
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
