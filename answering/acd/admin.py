"""Platform admin: the live ACD tables (read-mostly) and Twilio subaccounts."""

from django.contrib import admin

from answering.acd.models import AgentPresence, CallSession, PresenceInterval, TwilioAccount


@admin.register(CallSession)
class CallSessionAdmin(admin.ModelAdmin):
    list_display = ("call_sid", "client", "from_number", "state", "priority", "language", "agent", "arrived_at")
    list_filter = ("state", "client", "priority")
    search_fields = ("call_sid", "from_number")
    readonly_fields = [f.name for f in CallSession._meta.fields]

    def has_add_permission(self, request):
        return False


@admin.register(AgentPresence)
class AgentPresenceAdmin(admin.ModelAdmin):
    list_display = ("agent", "status", "since", "idle_since", "missed_offers", "phone_number")
    list_filter = ("status",)


@admin.register(PresenceInterval)
class PresenceIntervalAdmin(admin.ModelAdmin):
    """The presence log, read-only: the database writes it (a trigger on every status change),
    and occupancy is only true while nobody edits it by hand."""

    list_display = ("agent", "status", "started", "ended")
    list_filter = ("status",)
    search_fields = ("agent__email",)
    date_hierarchy = "started"
    readonly_fields = [f.name for f in PresenceInterval._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(TwilioAccount)
class TwilioAccountAdmin(admin.ModelAdmin):
    list_display = ("sid", "friendly_name")
