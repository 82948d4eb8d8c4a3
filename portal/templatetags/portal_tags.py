"""Small display helpers for the portal's templates."""

from __future__ import annotations

from django import template

register = template.Library()

SKIP_IN_SUMMARY = {"name", "caller_name", "callback_number"}


@register.filter
def field_label(name: str) -> str:
    """``callback_number`` → "Callback number"."""
    return str(name).replace("_", " ").strip().capitalize()


@register.filter
def field_value(value) -> str:
    if value is True:
        return "yes"
    if value is False:
        return "no"
    if isinstance(value, (list, tuple)):
        return ", ".join(str(v) for v in value)
    return "" if value is None else str(value)


@register.filter
def summary(fields, length: int = 140) -> str:
    """The captured answers in one line, for the inbox (name and number are shown apart)."""
    if not isinstance(fields, dict):
        return ""
    text = " · ".join(f"{field_label(k)}: {field_value(v)}" for k, v in fields.items()
                      if k not in SKIP_IN_SUMMARY and v not in ("", None))
    return text if len(text) <= length else text[: length - 1] + "…"


@register.filter
def seconds(value) -> str:
    """125 → "2:05"; None → "—"."""
    if value is None or value == "":
        return "—"
    value = int(value)
    hours, rest = divmod(value, 3600)
    return f"{hours}:{rest // 60:02d}:{rest % 60:02d}" if hours else f"{rest // 60}:{rest % 60:02d}"
