"""Client-data admin for compliance (one client's schema; see switchboard/admin_sites.py).

The ledger is read-only, searchable and exportable; DNC entries are never deleted (5 years),
only marked removed; "Check a number" asks the gate and shows every reason.
"""

from __future__ import annotations

from django.contrib import admin, messages
from django.template.response import TemplateResponse
from django.urls import path

from answering.admin.zone import ClientTimeZoneAdmin, when_column
from compliance import services
from compliance.exports import ledger_csv_response
from compliance.forms import CheckNumberForm
from compliance.models import ComplianceSettings, Consent, DncEntry, LedgerEntry
from compliance.rules import OptOutSource
from switchboard.admin_sites import ClientDataModelAdmin, ReadOnlyAdminMixin, client_data_admin


@admin.register(DncEntry, site=client_data_admin)
class DncEntryAdmin(ClientTimeZoneAdmin, ClientDataModelAdmin):
    list_display = ("number", "source", "reason", "added_by", "added", "removed")
    added = when_column("Added", "created")
    removed = when_column("Removed", "removed_at")
    list_filter = ("source", ("removed_at", admin.EmptyFieldListFilter))
    search_fields = ("number", "reason", "added_by")
    fields = ("number", "reason", "source", "added_by", "created", "removed_at", "removed_by", "removed_reason")
    actions = ["remove_from_list"]

    def get_readonly_fields(self, request, obj=None):
        every = ("number", "source", "added_by", "created", "removed_at", "removed_by", "removed_reason")
        return every + ("reason",) if obj else ("source", "added_by", "created", "removed_at", "removed_by",
                                                "removed_reason")

    def has_delete_permission(self, request, obj=None):
        return False  # kept five years; "Remove from the list" stamps it instead

    def save_model(self, request, obj, form, change):
        if change:
            return
        entry, created = services.opt_out_record(client=request.tenant, number=obj.number, source=OptOutSource.ADMIN,
                                                 added_by=request.user.email, reason=obj.reason)
        obj.__dict__.update(entry.__dict__)
        if not created:
            messages.info(request, f"{entry.number} was already on the list.")

    @admin.action(description="Remove from the list (the entry is kept for the record)")
    def remove_from_list(self, request, queryset):
        removed = 0
        for entry in queryset.filter(removed_at__isnull=True):
            removed += services.dnc_entry_remove(client=request.tenant, number=entry.number,
                                                 removed_by=request.user.email) is not None
        messages.success(request, f"Removed {removed} number(s).")


@admin.register(Consent, site=client_data_admin)
class ConsentAdmin(ClientTimeZoneAdmin, ClientDataModelAdmin):
    list_display = ("number", "kind", "source", "obtained_at", "expires_at", "revoked_at")
    list_filter = ("kind", "source")
    search_fields = ("number", "evidence")
    readonly_fields = ("revoked_at", "revoked_reason", "recorded_by", "created")

    def save_model(self, request, obj, form, change):
        if not obj.recorded_by:
            obj.recorded_by = request.user.email
        super().save_model(request, obj, form, change)


@admin.register(ComplianceSettings, site=client_data_admin)
class ComplianceSettingsAdmin(ClientDataModelAdmin):
    list_display = ("window_start", "window_end", "max_attempts_per_24h", "recording_policy", "retention_years")

    def has_add_permission(self, request):
        return not ComplianceSettings.objects.exists()

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(LedgerEntry, site=client_data_admin)
class LedgerEntryAdmin(ClientTimeZoneAdmin, ReadOnlyAdminMixin, ClientDataModelAdmin):
    """Read-only here, and the database refuses changes anyway (an append-only trigger)."""

    list_display = ("recorded", "event", "number", "purpose", "channel", "outcome", "short_reasons", "asked_by")
    list_filter = ("event", "outcome", "purpose", "channel")
    search_fields = ("number", "asked_by", "detail")
    date_hierarchy = "created"
    actions = ["export_csv"]
    change_list_template = "compliance/admin_ledger_changelist.html"

    def get_readonly_fields(self, request, obj=None):
        return [f.name for f in LedgerEntry._meta.fields]

    recorded = when_column("When", "created")

    @admin.display(description="Reasons")
    def short_reasons(self, obj: LedgerEntry) -> str:
        return ", ".join(r["code"] for r in obj.reasons if r.get("deny")) or ", ".join(r["code"] for r in obj.reasons)

    @admin.action(description="Export the selected entries as CSV")
    def export_csv(self, request, queryset):
        return ledger_csv_response(queryset.order_by("created", "id"), time_zone=request.tenant.time_zone)

    def get_urls(self):
        return [path("check/", self.admin_site.admin_view(self.check_view), name="compliance_check_number"),
                *super().get_urls()]

    def check_view(self, request):
        """Ask the gate about a number, for this client, now; the answer is recorded like any other."""
        form = CheckNumberForm(request.POST or None)
        decision = None
        if request.method == "POST" and form.is_valid():
            data = form.cleaned_data
            decision = services.contact_decide(
                client=request.tenant, number=data["number"], purpose=data["purpose"], channel=data["channel"],
                contact_address=data["state"] or None, asked_by=f"admin:{request.user.email}",
            )
        context = {**self.admin_site.each_context(request), "title": "Check a number", "form": form,
                   "decision": decision, "opts": self.model._meta}
        return TemplateResponse(request, "compliance/admin_check_number.html", context)
