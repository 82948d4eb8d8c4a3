"""Platform admin (public schema): the platform DNC list, registry loads and the rule tables."""

from __future__ import annotations

from django.contrib import admin

from compliance.platform.models import (
    AreaCode,
    CallingRule,
    Holiday,
    PlatformDncEntry,
    RegistryLoad,
    SmsKeyword,
    UsState,
)
from switchboard.admin_sites import ReadOnlyAdminMixin


@admin.register(PlatformDncEntry)
class PlatformDncEntryAdmin(admin.ModelAdmin):
    list_display = ("number", "reason", "source", "added_by", "created")
    search_fields = ("number", "reason", "added_by")
    readonly_fields = ("created",)

    def save_model(self, request, obj, form, change):
        if not obj.added_by:
            obj.added_by = request.user.email
        super().save_model(request, obj, form, change)


@admin.register(RegistryLoad)
class RegistryLoadAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    """Loads happen with `manage.py load_dnc_registry`; here they are read."""

    list_display = ("file_name", "kind", "file_date", "loaded_at", "added", "deleted", "malformed", "total_after",
                    "seconds")
    list_filter = ("kind",)
    readonly_fields = [f.name for f in RegistryLoad._meta.fields]


@admin.register(CallingRule)
class CallingRuleAdmin(admin.ModelAdmin):
    list_display = ("jurisdiction", "name", "purposes", "window_start", "window_end", "no_sundays", "no_holidays",
                    "max_attempts", "period_hours", "effective_from", "source")
    list_filter = ("jurisdiction",)
    search_fields = ("jurisdiction", "name", "source")


@admin.register(Holiday)
class HolidayAdmin(admin.ModelAdmin):
    list_display = ("date", "jurisdiction", "name", "source")
    list_filter = ("jurisdiction",)


@admin.register(UsState)
class UsStateAdmin(admin.ModelAdmin):
    list_display = ("code", "name", "time_zones", "all_party_recording_consent", "recording_source")
    list_filter = ("all_party_recording_consent",)
    search_fields = ("code", "name")


@admin.register(AreaCode)
class AreaCodeAdmin(admin.ModelAdmin):
    list_display = ("code", "state")
    list_filter = ("state",)
    search_fields = ("code",)


@admin.register(SmsKeyword)
class SmsKeywordAdmin(admin.ModelAdmin):
    list_display = ("text", "action", "match", "language")
    list_filter = ("action", "match", "language")
    search_fields = ("text",)
