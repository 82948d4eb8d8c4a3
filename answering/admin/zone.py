"""The client-data admin in the client's time zone: a mixin for read-only records' admins (lists
and pages of calls, messages, the ledger...) and a list column that names the zone.

Django's admin shows times in the server's zone (UTC); a client's admin reads its own."""

from __future__ import annotations

from django.contrib import admin
from django.utils import timezone

from answering.messages.display import language_name, menu_choice_label, time_text

WHEN = "D j M Y, H:i:s T"


class ClientTimeZoneAdmin:
    """Renders the list and the change page inside the client's zone: a TemplateResponse
    renders after the view returns, so it is rendered here, while the zone is on. A form
    posted to the change page is read in the zone too, so a time typed is the client's."""

    def _in_client_zone(self, request, view, *args, **kwargs):
        client = getattr(request, "tenant", None)
        with timezone.override(client.tz if getattr(client, "time_zone", None) else None):
            response = view(request, *args, **kwargs)
            if hasattr(response, "render") and not getattr(response, "is_rendered", True):
                response.render()
            return response

    def changelist_view(self, request, extra_context=None):
        extra_context = {**(extra_context or {}), "client_time_zone": getattr(request.tenant, "time_zone", "")}
        return self._in_client_zone(request, super().changelist_view, extra_context=extra_context)

    def changeform_view(self, request, object_id=None, form_url="", extra_context=None):
        return self._in_client_zone(request, super().changeform_view, object_id, form_url, extra_context)


def when_column(description: str, attribute: str):
    """A list column: an instant in the client's zone, naming it ("Mon 2 Mar 2026, 09:00:05 EST")."""

    @admin.display(description=description, ordering=attribute)
    def column(self, obj):
        return time_text(getattr(obj, attribute), None, WHEN) or "—"

    return column


@admin.display(description="Language", ordering="language")
def language_column(self, obj) -> str:
    return language_name(obj.language)


@admin.display(description="Menu choice", ordering="menu_choice")
def menu_choice_column(self, obj) -> str:
    return menu_choice_label(obj.menu_choice) or "—"
