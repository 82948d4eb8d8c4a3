"""Template filters of the campaign pages (the portal's)."""

from __future__ import annotations

from django import template

register = template.Library()


@register.filter
def rate(value, digits: int = 1) -> str:
    """0.0345 → "3.5 %"; None (nothing to measure yet) → "—", never 0 %."""
    if value is None or value == "":
        return "—"
    return f"{float(value) * 100:.{int(digits)}f} %"


@register.filter
def get_item(mapping, key):
    """``mapping[key]`` in a template (counts by status or outcome); None when missing."""
    return mapping.get(key) if hasattr(mapping, "get") else None
