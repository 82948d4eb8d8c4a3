"""Client-data admin: answering settings, knowledge, the call flow, and the call log (read-only)."""


from django.contrib import admin

from answering.admin.zone import ClientTimeZoneAdmin, language_column, menu_choice_column, when_column
from answering.models import (
    AnsweringSettings,
    BusinessHours,
    CallRecord,
    Closure,
    InboundSMS,
    KnowledgeFact,
    MenuOption,
    Prompt,
    VoicemailMessage,
)
from switchboard.admin_sites import (
    ClientDataModelAdmin,
    ReadOnlyAdminMixin,
    client_data_admin,
)


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


@admin.register(Prompt, site=client_data_admin)
class PromptAdmin(ClientDataModelAdmin):
    list_display = ("key", "language", "text", "voice", "audio_url")
    list_filter = ("key", "language")


@admin.register(MenuOption, site=client_data_admin)
class MenuOptionAdmin(ClientDataModelAdmin):
    list_display = ("flow", "digit", "label", "action", "priority", "transfer_to")
    list_filter = ("flow", "action")


@admin.register(BusinessHours, site=client_data_admin)
class BusinessHoursAdmin(ClientDataModelAdmin):
    list_display = ("weekday", "opens", "closes")


@admin.register(Closure, site=client_data_admin)
class ClosureAdmin(ClientTimeZoneAdmin, ClientDataModelAdmin):
    # Typed and shown in the client's zone: "closed from 17:00" means the client's 17:00.
    list_display = ("name", "starts", "ends")


@admin.register(CallRecord, site=client_data_admin)
class CallRecordAdmin(ClientTimeZoneAdmin, ReadOnlyAdminMixin, ClientDataModelAdmin):
    list_display = ("arrived", "caller", "number_dialed", "language_name", "menu_choice_text", "outcome",
                    "wait_seconds", "talk_seconds", "agent")
    arrived = when_column("Arrived", "arrived_at")
    language_name = language_column
    menu_choice_text = menu_choice_column
    list_filter = ("outcome", "language")
    search_fields = ("caller", "call_sid")


@admin.register(VoicemailMessage, site=client_data_admin)
class VoicemailMessageAdmin(ClientTimeZoneAdmin, ReadOnlyAdminMixin, ClientDataModelAdmin):
    list_display = ("left", "caller", "duration")
    left = when_column("Left", "created")


@admin.register(InboundSMS, site=client_data_admin)
class InboundSMSAdmin(ClientTimeZoneAdmin, ReadOnlyAdminMixin, ClientDataModelAdmin):
    list_display = ("received_at", "from_number", "to_number", "body")
    received_at = when_column("Received", "received")
    search_fields = ("from_number", "body")
