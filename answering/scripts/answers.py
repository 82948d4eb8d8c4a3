"""The answers an agent typed, cleaned field by field against the script's definition,
along the path they take through it. Pure: no database."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import date, datetime
from decimal import Decimal, InvalidOperation
from typing import Any
from zoneinfo import ZoneInfo

from django.core.exceptions import ValidationError
from django.core.validators import validate_email

from answering.models import ScriptVersion
from answering.scripts.rendering import EndAction, script_next_step, version_definition
from answering.scripts.validation import NO, YES
from tenants.phone import to_e164


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


def _fields_clean(fields: list[dict], answers: Mapping[str, Any], *, time_zone: str,
                  required: bool = True) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """Some fields' answers, each cleaned by its type: the values, and the errors by field (a
    required field left empty is one, unless ``required`` is off: a caller who hung up)."""
    values: dict[str, Any] = {}
    errors: dict[str, list[str]] = {}
    for spec in fields:
        try:
            value = field_clean(spec, answers.get(spec["name"]), time_zone=time_zone)
        except ValidationError as exc:
            errors[spec["name"]] = exc.messages
            continue
        if value is None:
            if required and spec["required"]:
                errors[spec["name"]] = [f"{spec['label']}: this answer is required."]
            continue
        values[spec["name"]] = value
    return values, errors


def script_answers_clean(*, version: ScriptVersion | Mapping[str, Any], answers: Mapping[str, Any],
                         time_zone: str) -> CleanedAnswers:
    """Walk the script from its first step with ``answers``, cleaning each field on the way.

    Only steps the answers lead through count: a required field on a branch not taken is not
    required. The walk stops at the first step with an error (its branches cannot be trusted).
    """
    d = version_definition(version)
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
        step_values, step_errors = _fields_clean(by_key[step]["fields"], answers, time_zone=time_zone)
        values.update(step_values)
        errors.update(step_errors)
        if errors:
            return CleanedAnswers(values, errors, path, None)
        nxt = script_next_step(version=d, step=step, answers=values)
        if nxt.end is not None:
            return CleanedAnswers(values, errors, path, nxt.end)
        step = nxt.step


def step_answers_clean(*, version: ScriptVersion | Mapping[str, Any], step: str, answers: Mapping[str, Any],
                       time_zone: str) -> tuple[dict[str, Any], dict[str, list[str]]]:
    """One step's answers, cleaned as Save would clean them: the agent hears at that step that
    a required answer is missing or a callback number is malformed, not at the end."""
    d = version_definition(version)
    current = next((s for s in d["steps"] if s["key"] == step), None)
    if current is None:
        raise KeyError(f"No step “{step}” in script “{d['key']}”.")
    return _fields_clean(current["fields"], answers, time_zone=time_zone)


def script_answers_taken(*, version: ScriptVersion | Mapping[str, Any], answers: Mapping[str, Any],
                         time_zone: str) -> CleanedAnswers:
    """What a caller who hung up mid-script gave: every answered field of the script cleaned
    (a malformed one is still an error, to be corrected or cleared), a missing required one
    not an error. The end is the one the answers reach, else a plain message."""
    d = version_definition(version)
    full = script_answers_clean(version=d, answers=answers, time_zone=time_zone)
    values: dict[str, Any] = {}
    errors: dict[str, list[str]] = {}
    for step in d["steps"]:
        step_values, step_errors = _fields_clean(step["fields"], answers, time_zone=time_zone, required=False)
        values.update(step_values)
        errors.update(step_errors)
    end = full.end if not full.errors else None
    return CleanedAnswers(values, errors, full.path, end or EndAction(action="message", urgency="normal"))
