"""Client-data admin: messages (read-only, acknowledge on the client's behalf), delivery rules and
escalation policies, people, teams, rotations and overrides."""

import json

from django.contrib import admin
from django.utils.html import format_html

from answering.admin.zone import ClientTimeZoneAdmin, when_column
from answering.messages.acknowledge import message_acknowledge
from answering.messages.display import message_answers
from answering.models import (
    Delivery,
    DeliveryEvent,
    DeliveryRule,
    EscalationPolicy,
    EscalationStep,
    Message,
    Override,
    Person,
    Rotation,
    RotationMember,
    Team,
)
from switchboard.admin_sites import (
    ClientDataInline,
    ClientDataModelAdmin,
    ReadOnlyAdminMixin,
    client_data_admin,
)


class DeliveryEventInline(ReadOnlyAdminMixin, ClientDataInline, admin.TabularInline):
    model = DeliveryEvent
    fields = ("at", "status", "detail", "delivery")
    readonly_fields = fields
    extra = 0
    verbose_name_plural = "timeline"


@admin.register(Message, site=client_data_admin)
class MessageAdmin(ClientTimeZoneAdmin, ReadOnlyAdminMixin, ClientDataModelAdmin):
    list_display = ("taken", "caller_name", "callback_number", "urgency", "category", "end_action",
                    "escalation", "acknowledged", "agent")
    taken = when_column("Taken", "created")
    acknowledged = when_column("Acknowledged", "acknowledged_at")
    list_filter = ("urgency", "category", "end_action", "escalation", "source")
    search_fields = ("caller", "callback_number", "caller_name", "call_sid", "short_code")
    readonly_fields = ("answers",)
    inlines = [DeliveryEventInline]
    actions = ["acknowledge"]

    @admin.display(description="Captured answers")
    def answers(self, obj):
        # In the script's order (jsonb keeps its own), labelled as the script labels them.
        ordered = {f"{a.label} ({a.name})": a.value for a in message_answers(obj)}
        return format_html("<pre>{}</pre>", json.dumps(ordered, indent=2, ensure_ascii=False))

    @admin.action(description="Acknowledge (stop escalating) on the client's behalf")
    def acknowledge(self, request, queryset):
        done = sum(message_acknowledge(message=m, by=str(request.user), via="admin") for m in queryset)
        self.message_user(request, f"{done} message{'s' if done != 1 else ''} acknowledged.")


class EscalationStepInline(ClientDataInline, admin.TabularInline):
    model = EscalationStep
    extra = 1
    ordering = ["position"]
    fields = ("position", "channel", "target", "person", "team", "wait_minutes")


@admin.register(EscalationPolicy, site=client_data_admin)
class EscalationPolicyAdmin(ClientDataModelAdmin):
    list_display = ("name", "needs_acknowledgement", "repeat", "alert_supervisors")
    inlines = [EscalationStepInline]


@admin.register(DeliveryRule, site=client_data_admin)
class DeliveryRuleAdmin(ClientDataModelAdmin):
    list_display = ("position", "urgency", "category", "when", "policy")
    list_editable = ("urgency", "category", "when", "policy")
    list_display_links = ("position",)


@admin.register(Delivery, site=client_data_admin)
class DeliveryAdmin(ClientTimeZoneAdmin, ReadOnlyAdminMixin, ClientDataModelAdmin):
    list_display = ("planned", "message", "channel", "person", "address", "status", "tries", "error_code")
    list_filter = ("channel", "status")
    search_fields = ("address", "provider_sid")
    planned = when_column("Planned", "created")


@admin.register(Person, site=client_data_admin)
class PersonAdmin(ClientDataModelAdmin):
    list_display = ("name", "email", "mobile", "phone", "active")
    search_fields = ("name", "email", "mobile", "phone")


@admin.register(Team, site=client_data_admin)
class TeamAdmin(ClientDataModelAdmin):
    list_display = ("name",)


class RotationMemberInline(ClientDataInline, admin.TabularInline):
    model = RotationMember
    extra = 1
    ordering = ["position"]


@admin.register(Rotation, site=client_data_admin)
class RotationAdmin(ClientDataModelAdmin):
    list_display = ("team", "period", "handover_time", "starts_on")
    inlines = [RotationMemberInline]


@admin.register(Override, site=client_data_admin)
class OverrideAdmin(ClientTimeZoneAdmin, ClientDataModelAdmin):  # typed and shown in the client's zone
    list_display = ("team", "person", "starts", "ends", "note")
    list_filter = ("team",)
