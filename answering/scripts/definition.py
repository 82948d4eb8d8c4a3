"""A script's definition in its normal form: the one JSON document a version keeps, the
rows the admin edits, and the checksum that tells two definitions apart."""

from __future__ import annotations

import hashlib
import json
from collections.abc import Mapping
from decimal import Decimal
from typing import Any

from django.core.exceptions import ValidationError

from answering.models import Script, ScriptBranch, ScriptField, ScriptStep
from tenants.phone import to_e164


def script_normalize(definition: Mapping[str, Any]) -> dict:
    """The canonical form of a (structurally valid) definition: every key present, in order
    (a step's ``kind`` and ``appointment_types`` only on an appointment step)."""
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
        if action in ("message", "dispatch", "callback"):
            out["urgency"] = e.get("urgency") or ("urgent" if action == "dispatch" else "normal")
            out["category"] = e.get("category") or ""
        if action == "transfer":
            raw = e.get("transfer_to") or ""
            try:
                out["transfer_to"] = to_e164(raw)
            except ValidationError:
                out["transfer_to"] = raw
        return out

    def kind(s):
        # An appointment step carries its kind and its types; a question step leaves both out,
        # so the versions published before steps had kinds keep their checksums (and stay
        # current) and a reader takes a missing kind as "question".
        if (s.get("kind") or "question") == "question" and not s.get("appointment_types"):
            return {}
        return {"kind": s.get("kind") or "question",
                "appointment_types": [str(t).strip() for t in s.get("appointment_types") or []]}

    return {
        "key": definition.get("key", ""),
        "name": definition.get("name", ""),
        "description": definition.get("description", "") or "",
        "used_for": [c.strip() for c in definition.get("used_for", [])],
        "is_default": bool(definition.get("is_default", False)),
        "steps": [{
            "key": s.get("key", ""),
            **kind(s),
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
            "key": s.key, "kind": s.kind, "appointment_types": list(s.appointment_types), "say": dict(s.say),
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


def definition_checksum(definition: dict) -> str:
    return hashlib.sha256(json.dumps(definition, sort_keys=True, ensure_ascii=False).encode()).hexdigest()


def write_rows(script: Script, d: dict) -> None:
    """Replace a script's steps, fields and branches with those of definition ``d``."""
    script.steps.all().delete()
    script.fields.all().delete()
    script.branches.all().delete()
    for position, s in enumerate(d["steps"]):
        end = s["end"] or {}
        ScriptStep.objects.create(
            script=script, position=position, key=s["key"], say=s["say"], next_step=s["next"] or "",
            kind=s.get("kind", ScriptStep.Kind.QUESTION), appointment_types=s.get("appointment_types", []),
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
