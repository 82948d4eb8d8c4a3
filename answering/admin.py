"""Client-data admin for answering (runs in one client's schema; see switchboard/admin_sites.py)."""

from django.contrib import admin

from answering.models import AnsweringSettings, KnowledgeFact
from switchboard.admin_sites import ClientDataModelAdmin, client_data_admin


@admin.register(AnsweringSettings, site=client_data_admin)
class AnsweringSettingsAdmin(ClientDataModelAdmin):
    list_display = ("greeting", "max_wait_seconds", "wrap_up_seconds", "record_calls")

    def has_add_permission(self, request):
        return False  # one row per client, made at provisioning

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(KnowledgeFact, site=client_data_admin)
class KnowledgeFactAdmin(ClientDataModelAdmin):
    list_display = ("title", "position", "updated")
    list_editable = ("position",)
    search_fields = ("title", "body")
