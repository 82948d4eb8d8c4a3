"""Platform admin: the live ACD tables (read-mostly) and Twilio subaccounts."""

from django.contrib import admin

from answering.acd.models import AgentPresence, CallSession, TwilioAccount


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


@admin.register(TwilioAccount)
class TwilioAccountAdmin(admin.ModelAdmin):
    list_display = ("sid", "friendly_name")
