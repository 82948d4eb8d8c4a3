"""Verbs of scripts: publish a version, import and export JSON. In the client's schema."""

from __future__ import annotations

import json
from collections.abc import Mapping, Sequence
from typing import Any

from django.db import transaction

from answering.models import Script, ScriptVersion
from answering.scripts.definition import (
    definition_checksum,
    script_definition,
    script_normalize,
    write_rows,
)
from answering.scripts.selectors import (
    current_client_appointment_types,
    current_client_languages,
    script_menu_conflicts,
)
from answering.scripts.validation import MAX_DEPTH, MAX_DOCUMENT_CHARS, Problem, ScriptInvalid, script_validate


def script_publish(*, script: Script, by=None, languages: Sequence[str] | None = None) -> ScriptVersion:
    """Publish what the script's rows say as its current version.

    Refuses (``ScriptInvalid``, nothing written) an invalid script. Idempotent: when the
    rows say what the current version says, that version is returned and nothing changes;
    otherwise a new version is created and earlier versions stay exactly as they were.
    """
    languages = list(languages) if languages is not None else current_client_languages()
    definition = script_definition(script=script)
    problems = script_validate(definition=definition, languages=languages,
                               appointment_types=current_client_appointment_types())
    if problems:
        raise ScriptInvalid(problems)
    checksum = definition_checksum(definition)
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

    Refuses (``ScriptInvalid`` with step-named problems) a document that is not JSON, too big
    or too deeply nested, not a valid script (a text longer than its column included), or
    claims a menu choice another script has, or offers an appointment type the client does not
    have (or no longer books); then nothing is written.
    Importing the same document twice publishes one version.
    """
    if isinstance(data, (str, bytes)):
        data = script_document_parse(text=data)
    languages = list(languages) if languages is not None else current_client_languages()
    problems = script_validate(definition=data, languages=languages,
                               appointment_types=current_client_appointment_types())
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
        write_rows(script, d)
        script_publish(script=script, by=by, languages=languages)
    return script


def script_document_parse(*, text: str | bytes) -> Any:
    """The JSON of a script document, or ``ScriptInvalid`` saying why it cannot be read."""
    if len(text) > MAX_DOCUMENT_CHARS:
        raise ScriptInvalid([Problem(f"The document is {len(text):,} characters long; a script is at most "
                                     f"{MAX_DOCUMENT_CHARS:,}.")])
    try:
        return json.loads(text)
    except RecursionError as exc:  # nesting deeper than the parser's stack
        raise ScriptInvalid([Problem(f"The document is nested more than {MAX_DEPTH} levels deep; a script is an "
                                     "object of steps, fields and branches, a few levels deep.")]) from exc
    except ValueError as exc:  # UnicodeDecodeError included
        raise ScriptInvalid([Problem(f"Not JSON: {exc}.")]) from exc


def script_export_json(*, script: Script) -> dict:
    """The script as a JSON-ready document that ``script_import_json`` takes back unchanged."""
    return script_definition(script=script)
