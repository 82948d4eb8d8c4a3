"""Client-data admin for campaigns (one client's schema; see switchboard/admin_sites.py): a
platform admin, or the client's own admin, sets a campaign up — purpose, channel, script,
caller ID, window, mode, retries, detection and drop, its dispositions — and its lists. The
contacts themselves arrive by CSV import (the portal or ``manage.py contacts_import``);
attempts are records of what happened, read-only. Start, pause and stop are the portal's
buttons (or the admin's actions), through the same lifecycle services."""

from django.contrib import admin, messages
from django.db import models

from answering.admin.zone import ClientTimeZoneAdmin, when_column
from campaigns.models import CallAttempt, Campaign, Contact, ContactList, Disposition
from campaigns.services import lifecycle
from switchboard.admin_sites import ClientDataInline, ClientDataModelAdmin, ReadOnlyAdminMixin, client_data_admin


class DispositionInline(ClientDataInline, admin.TabularInline):
    model = Disposition
    fields = ("position", "code", "label", "kind", "final", "success")
    extra = 0


class ContactListInline(ClientDataInline, admin.TabularInline):
    model = ContactList
    fields = ("name", "priority", "active", "recycled")
    readonly_fields = ("recycled",)
    extra = 0


@admin.register(Campaign, site=client_data_admin)
class CampaignAdmin(ClientTimeZoneAdmin, ClientDataModelAdmin):
    list_display = ("name", "state", "mode", "channel", "purpose", "is_callbacks")
    list_filter = ("state", "mode", "channel", "purpose")
    search_fields = ("name",)
    readonly_fields = ("state", "state_reason", "created")
    inlines = [DispositionInline, ContactListInline]
    actions = ["start", "pause", "stop"]
    formfield_overrides = {models.URLField: {"assume_scheme": "https"}}  # a recording's URL is https
    fieldsets = (
        (None, {"fields": ("name", "purpose", "subject", "channel", "script", "sms_text", "state", "state_reason")}),
        ("Who calls and from which number", {"fields": ("agent_ids", "caller_id", "local_presence")}),
        ("When", {"fields": ("window_start", "window_end", "days", "starts_at", "ends_at")}),
        ("Dialing", {"fields": ("mode", "max_lines_per_agent", "ring_seconds", "max_attempts",
                                "retry_busy_minutes", "retry_no_answer_minutes", "retry_machine_minutes",
                                "retry_failed_minutes", "retry_abandoned_minutes",
                                "max_attempts_per_24h", "max_attempts_per_7d")}),
        ("Machines and abandoned calls", {"fields": ("amd", "voicemail_drop", "voicemail_text",
                                                     "voicemail_audio_url", "safe_harbour_text")}),
        ("Other", {"fields": ("recording_policy", "is_callbacks", "active", "created")}),
    )

    def save_model(self, request, obj, form, change):
        super().save_model(request, obj, form, change)
        if not change:
            lifecycle.dispositions_default(obj)  # the usual ones; edit them below

    def _act(self, request, queryset, verb, done: str):
        for campaign in queryset:
            try:
                verb(campaign=campaign, by=str(request.user))
                self.message_user(request, f"{campaign.name}: {done}.")
            except lifecycle.CampaignRefused as exc:
                self.message_user(request, str(exc), messages.ERROR)

    @admin.action(description="Start (or resume) dialing")
    def start(self, request, queryset):
        self._act(request, queryset, lifecycle.campaign_start, "running")

    @admin.action(description="Pause")
    def pause(self, request, queryset):
        self._act(request, queryset, lifecycle.campaign_pause, "paused")

    @admin.action(description="Stop for good")
    def stop(self, request, queryset):
        self._act(request, queryset, lifecycle.campaign_stop, "stopped")


@admin.register(Contact, site=client_data_admin)
class ContactAdmin(ClientTimeZoneAdmin, ClientDataModelAdmin):
    list_display = ("number", "name", "campaign", "list", "status", "attempts", "last_outcome", "next_attempt_at")
    list_filter = ("status", "campaign")
    search_fields = ("number", "first_name", "last_name", "email")
    readonly_fields = ("attempts", "last_outcome", "last_attempt_at", "disposition", "source_call_sid",
                       "reserved_by", "reserved_until", "created", "updated")
    list_select_related = ("campaign", "list")


@admin.register(CallAttempt, site=client_data_admin)
class CallAttemptAdmin(ClientTimeZoneAdmin, ReadOnlyAdminMixin, ClientDataModelAdmin):
    list_display = ("number", "campaign", when_column("Started", "started_at"), "outcome", "answered_by",
                    "disposition", "amount", "agent_id")
    list_filter = ("outcome", "campaign")
    search_fields = ("number", "twilio_sid")
    list_select_related = ("campaign", "disposition")
