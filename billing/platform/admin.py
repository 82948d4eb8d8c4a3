"""Platform admin of billing (public schema): plans with their tiers and clients, and billing
runs — "Run billing for a period" starts one in the background, and its page follows it live
(a progress bar polling ``progress/``, static/import_progress.js) and lists every client's
statement with its total."""

from __future__ import annotations

from django import forms
from django.contrib import admin, messages
from django.core.exceptions import ValidationError
from django.http import HttpRequest, JsonResponse
from django.shortcuts import get_object_or_404, redirect
from django.template.response import TemplateResponse
from django.urls import path

from billing import selectors, services
from billing.platform.models import BillingPlan, BillingRun, PlanAssignment, PlanTier
from switchboard.admin_sites import ReadOnlyAdminMixin
from tenants.models import Client
from tenants.selectors import PUBLIC_SCHEMA


class PlanTierInline(admin.TabularInline):
    model = PlanTier
    extra = 1


class PlanAssignmentInline(admin.TabularInline):
    model = PlanAssignment
    extra = 1
    verbose_name = "client on this plan"
    verbose_name_plural = "clients on this plan"


@admin.register(BillingPlan)
class BillingPlanAdmin(admin.ModelAdmin):
    list_display = ("name", "increment_seconds", "included_minutes", "minute_rate", "base_fee", "currency")
    search_fields = ("name",)
    inlines = [PlanTierInline, PlanAssignmentInline]
    fieldsets = [
        (None, {"fields": ("name", "currency", "base_fee")}),
        ("What counts as agent time", {"fields": ("count_talk", "count_hold", "count_wrap_up")}),
        ("Rounding, per call", {"fields": ("increment_seconds", "minimum_seconds", "per_call_seconds",
                                           "free_short_calls", "short_call_seconds")}),
        ("Minutes", {"fields": ("included_minutes", "minute_rate", "ivr_minute_rate"),
                     "description": "Tiers (below) price the minutes from their threshold on."}),
        ("Fees", {"fields": ("message_fee", "dispatch_fee", "text_fee", "attempt_fee")}),
    ]


class RunForm(forms.Form):
    period = forms.CharField(max_length=7, help_text="The month, YYYY-MM, in each client's own time zone.")
    clients = forms.ModelMultipleChoiceField(
        queryset=Client.objects.exclude(schema_name=PUBLIC_SCHEMA).filter(billing_plan__isnull=False),
        required=False, help_text="None chosen: every active client with a plan.")

    def clean_period(self) -> str:
        try:
            return str(services.Period.parse(self.cleaned_data["period"]))
        except ValidationError as exc:
            raise ValidationError(exc.message_dict["period"]) from None


@admin.register(BillingRun)
class BillingRunAdmin(ReadOnlyAdminMixin, admin.ModelAdmin):
    list_display = ("period", "status", "done", "total", "started_by", "created", "finished_at")
    list_filter = ("status",)
    change_form_template = "admin/billing/run.html"

    def has_add_permission(self, request, obj=None) -> bool:
        return request.user.is_superuser or request.user.has_perm("billing_platform.add_billingrun")

    def get_urls(self):
        return [path("run/", self.admin_site.admin_view(self.run_view), name="billing_run_start"),
                path("<int:pk>/progress/", self.admin_site.admin_view(self.progress_view), name="billing_run_progress"),
                *super().get_urls()]

    def add_view(self, request, form_url="", extra_context=None):
        return redirect("admin:billing_run_start")

    def run_view(self, request: HttpRequest):
        """Run billing for a period: the form, then the run's live page."""
        if not self.has_add_permission(request):
            messages.error(request, "Only platform admins run billing.")
            return redirect("admin:billing_platform_billingrun_changelist")
        form = RunForm(request.POST or None)
        if request.method == "POST" and form.is_valid():
            run = services.billing_run_start(period=form.cleaned_data["period"], clients=form.cleaned_data["clients"],
                                             by=request.user.email)
            return redirect("admin:billing_platform_billingrun_change", run.pk)
        return TemplateResponse(request, "admin/billing/run_start.html", {
            **self.admin_site.each_context(request), "title": "Run billing for a period", "form": form,
            "opts": self.model._meta})

    def progress_view(self, request: HttpRequest, pk: int):
        response = JsonResponse(selectors.billing_run_progress(run=get_object_or_404(BillingRun, pk=pk)))
        response["Cache-Control"] = "no-store"
        return response

    def change_view(self, request, object_id, form_url="", extra_context=None):
        run = get_object_or_404(BillingRun, pk=object_id)
        return TemplateResponse(request, "admin/billing/run.html", {
            **self.admin_site.each_context(request), "title": str(run), "run": run, "opts": self.model._meta,
            "progress": selectors.billing_run_progress(run=run)})
