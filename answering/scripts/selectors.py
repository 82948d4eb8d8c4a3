"""Reads of scripts: which version guides a call, and the client settings scripts are
checked against. In the client's schema."""

from __future__ import annotations

from collections.abc import Sequence

from answering.models import Script, ScriptVersion
from answering.scripts.validation import Problem
from calendars.models import AppointmentType
from tenants.selectors import client_current


def current_client_languages() -> list[str]:
    """The languages of the client whose schema is active."""
    return list(client_current().languages)


def current_client_time_zone() -> str:
    return client_current().time_zone


def current_client_appointment_types() -> set[str]:
    """The names of the active appointment types of the client whose schema is active: what
    a script's appointment step may offer."""
    return set(AppointmentType.objects.filter(active=True).values_list("name", flat=True))


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


def script_for_call(*, menu_choice: str) -> ScriptVersion | None:
    """The published script version a call with ``menu_choice`` (e.g. "open:1") is guided by:
    the script that claims the choice, else the default script, else None. The call should
    keep the returned version (not the script), so later edits do not change it."""
    published = Script.objects.filter(current_version__isnull=False).select_related("current_version")
    script = published.filter(used_for__contains=[menu_choice]).first() if menu_choice else None
    if script is None:
        script = published.filter(is_default=True).first()
    return script.current_version if script else None
