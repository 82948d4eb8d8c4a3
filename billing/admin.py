"""Client-data admin of billing (one client's schema): statements, read-only — they are
built by ``billing.services.statement_build`` (the portal, a billing run), never edited."""

from __future__ import annotations

from django.contrib import admin

from billing.models import Statement
from switchboard.admin_sites import ClientDataModelAdmin, ReadOnlyAdminMixin, client_data_admin


@admin.register(Statement, site=client_data_admin)
class StatementAdmin(ReadOnlyAdminMixin, ClientDataModelAdmin):
    list_display = ("period", "status", "item_count", "total", "currency", "built_at", "issued_at")
    list_filter = ("status",)
    readonly_fields = ("period", "status", "starts_at", "ends_at", "time_zone", "currency", "total", "item_count",
                       "summary", "plan", "built_at", "issued_at")
    fields = readonly_fields
