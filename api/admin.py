"""API keys in the platform admin: every client's keys, listed, searched, revoked. Keys are created
by client admins in the portal (the plain key is shown to them once), never here."""

from __future__ import annotations

from django.contrib import admin, messages
from django.http import HttpRequest

from api.models import ApiKey
from api.services.keys import api_key_revoke
from switchboard.admin_sites import RefusingFiltersMixin


@admin.register(ApiKey)
class ApiKeyAdmin(RefusingFiltersMixin, admin.ModelAdmin):
    list_display = ["display", "name", "client", "scopes_text", "last_used_at", "expires_at", "revoked_at", "created"]
    list_filter = ["client", ("revoked_at", admin.EmptyFieldListFilter)]
    search_fields = ["prefix", "name", "client__name", "client__schema_name"]
    readonly_fields = ["client", "name", "prefix", "scopes", "expires_at", "last_used_at", "revoked_at", "revoked_by",
                       "created_by", "created"]
    exclude = ["secret_hash"]
    actions = ["revoke"]

    @admin.display(description="key")
    def display(self, key: ApiKey) -> str:
        return key.display

    @admin.display(description="scopes")
    def scopes_text(self, key: ApiKey) -> str:
        return ", ".join(key.scopes)

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj=None) -> bool:
        return False  # read-only page; revoking is the action

    def has_delete_permission(self, request: HttpRequest, obj=None) -> bool:
        return False  # keys are revoked and kept, like the DNC list's entries: who had access, until when

    @admin.action(description="Revoke the selected keys", permissions=["revoke"])
    def revoke(self, request: HttpRequest, queryset) -> None:
        who = f"{request.user.email} (platform admin)"
        n = sum(api_key_revoke(key=key, by=who) for key in queryset)
        self.message_user(request, f"{n} key{'s' if n != 1 else ''} revoked.", messages.SUCCESS)

    def has_revoke_permission(self, request: HttpRequest) -> bool:
        return bool(request.user.is_active and getattr(request.user, "is_platform_admin", False))
