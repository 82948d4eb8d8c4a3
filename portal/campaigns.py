"""The client portal's outbound campaigns: the list with start / pause / stop, one campaign
with its lists, a CSV upload (file → column mapping → a background import with a live bar
and the refused lines), and its results (every contact, filtered, paginated, exported).

Thin, like the portal's other pages: forms parse, ``campaigns.selectors`` reads, the
services of ``campaigns.services`` change. Access as everywhere in the portal
(``portal.access``): the host's own people read every page; changing anything (starting,
pausing, stopping, uploading, recycling) is for the client's admins. Everything is looked up
in the host's schema, so another client's ids are simply not found (404).
"""

from __future__ import annotations

import zoneinfo

from django import forms
from django.contrib import messages as flash
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.db import connection, transaction
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST
from django_tenants.utils import schema_context

from campaigns import selectors
from campaigns.models import CallAttempt, Campaign, Contact, ContactImport, ContactList
from campaigns.services import imports, lifecycle
from portal.access import admin_only, is_client_admin, portal_page
from portal.selectors import agent_names
from switchboard.csv_export import csv_response

RESULTS_PER_PAGE = 50
IMPORT_ERRORS_PER_PAGE = 200
EXPORT_BATCH = 2000


def _by(request: HttpRequest) -> str:
    user = request.user
    return f"{user.full_name} <{user.email}>" if user.full_name else user.email


def _campaign(pk: int) -> Campaign:
    # Looked up in the host's schema: another client's campaign id is not found here.
    return get_object_or_404(Campaign, pk=pk)


# --- Forms (small, and only these pages use them) ------------------------------------------

class UploadForm(forms.Form):
    file = forms.FileField(label="CSV file")
    contact_list = forms.ModelChoiceField(queryset=ContactList.objects.none(), required=False, label="Into the list",
                                          empty_label="A new list…")
    name = forms.CharField(max_length=200, required=False, label="New list's name")
    priority = forms.IntegerField(required=False, initial=0, label="Priority", help_text="Higher is dialed first.")

    def __init__(self, *args, campaign: Campaign, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["contact_list"].queryset = ContactList.objects.filter(campaign=campaign)

    def clean(self):
        data = super().clean()
        if not data.get("contact_list") and not (data.get("name") or "").strip():
            self.add_error("name", "Name the new list, or choose a list to import into.")
        upload = data.get("file")
        if upload is not None and upload.size > imports.MAX_IMPORT_BYTES:  # before reading it into memory
            self.add_error("file", f"That file is over {imports.MAX_IMPORT_BYTES // (1024 * 1024)} MB; split it, or "
                                   "ask us to load it (`manage.py contacts_import`).")
        return data


class MappingForm(forms.Form):
    """One choice per CSV column: which contact field it fills, a custom field, or nothing.
    Whether the whole fits (the number mapped, no field twice) is ``imports.mapping_check``'s say."""

    def __init__(self, *args, columns: list[str], **kwargs):
        super().__init__(*args, **kwargs)
        self.columns = columns
        for i, column in enumerate(columns):
            name = imports.field_name(column)
            custom = [(f"{imports.FIELD_PREFIX}{name}", f"Custom field “{name}”")] if name else []
            self.fields[f"column_{i}"] = forms.ChoiceField(
                label=column or f"Column {i + 1}", required=False,
                choices=[("", "Leave out"), *imports.TARGETS.items(), *custom])

    def mapping(self) -> dict[str, str]:
        return {column: self.cleaned_data[f"column_{i}"] for i, column in enumerate(self.columns)
                if column and self.cleaned_data.get(f"column_{i}")}


class ResultsFilterForm(forms.Form):
    q = forms.CharField(required=False, label="Search", widget=forms.TextInput(
        attrs={"type": "search", "placeholder": "Name or number"}))
    status = forms.ChoiceField(required=False, choices=[("", "Any status"), *Contact.Status.choices])
    outcome = forms.ChoiceField(required=False, label="Last outcome",
                                choices=[("", "Any outcome"), *CallAttempt.Outcome.choices])
    list = forms.ModelChoiceField(queryset=ContactList.objects.none(), required=False, empty_label="Every list")

    def __init__(self, *args, campaign: Campaign, **kwargs):
        super().__init__(*args, **kwargs)
        self.fields["list"].queryset = ContactList.objects.filter(campaign=campaign)

    def filters(self) -> dict:
        """The valid parts of the filter: a choice that is no longer offered (a list removed
        meanwhile, a hand-edited link) filters nothing rather than emptying the page."""
        if not self.is_bound:
            return {}
        self.is_valid()
        data = self.cleaned_data
        return {"q": data.get("q") or "", "status": data.get("status") or "", "outcome": data.get("outcome") or "",
                "list": data["list"].pk if data.get("list") else None}


# --- The list -------------------------------------------------------------------------------

@portal_page
def campaign_list(request: HttpRequest) -> HttpResponse:
    context = {"summaries": selectors.campaign_summaries(), "active": "campaigns",
               "is_admin": is_client_admin(request), "time_zone": request.host_client.time_zone}
    if request.GET.get("partial") == "1":  # what static/portal/campaigns.js refreshes
        return render(request, "portal/_campaign_rows.html", context)
    return render(request, "portal/campaigns.html", context)


ACTIONS = {"start": lifecycle.campaign_start, "pause": lifecycle.campaign_pause, "stop": lifecycle.campaign_stop}
DONE = {"start": "“{}” is running.", "pause": "“{}” is paused; calls in progress finish.",
        "stop": "“{}” is stopped; its results stay here."}


@portal_page
@require_POST
def campaign_action(request: HttpRequest, pk: int, action: str) -> HttpResponse:
    """Start, pause or stop, from the list or the campaign's page (back to where it came from)."""
    admin_only(request)
    campaign = _campaign(pk)
    try:
        campaign = ACTIONS[action](campaign=campaign, by=_by(request))
    except lifecycle.CampaignRefused as refused:
        flash.error(request, str(refused))
    else:
        flash.success(request, DONE[action].format(campaign.name))
    if request.POST.get("next") == "campaign":
        return redirect("portal:campaign", pk=campaign.pk)
    return redirect("portal:campaigns")


# --- One campaign ---------------------------------------------------------------------------

@portal_page
def campaign_detail(request: HttpRequest, pk: int) -> HttpResponse:
    campaign = _campaign(pk)
    filter_form = ResultsFilterForm(request.GET or None, campaign=campaign)
    filters = filter_form.filters()
    page = Paginator(selectors.campaign_results(campaign, filters), RESULTS_PER_PAGE).get_page(request.GET.get("page"))
    names = agent_names(c.last_agent_id for c in page)
    for contact in page:
        contact.agent_name = names.get(contact.last_agent_id, "")
    query = request.GET.copy()
    for name in ("page", "partial"):
        query.pop(name, None)
    context = {
        "campaign": campaign, "figures": selectors.campaign_figures(campaign), "page": page, "query": query.urlencode(),
        "filter_form": filter_form, "filtering": any(filters.values()) if filters else False,
        "lists": selectors.campaign_lists(campaign), "imports": selectors.campaign_imports(campaign),
        "upload_form": UploadForm(campaign=campaign), "is_admin": is_client_admin(request),
        "active": "campaigns",
        "time_zone": request.host_client.time_zone,
        "statuses": Contact.Status.choices, "outcomes": CallAttempt.Outcome.choices,
        "outcome_labels": dict(CallAttempt.Outcome.choices), "dialable": Contact.DIALABLE,
    }
    # What static/portal/campaigns.js refreshes: the figures and lists, or the results' page.
    if request.GET.get("partial") == "1":
        return render(request, "portal/_campaign_live.html", context)
    if request.GET.get("partial") == "results":
        return render(request, "portal/_campaign_results.html", context)
    return render(request, "portal/campaign.html", context)


@portal_page
def campaign_export(request: HttpRequest, pk: int) -> HttpResponse:
    """The results the page shows with the same filter, all pages, one row per contact,
    streamed; times in the client's zone, custom fields in ``field:<name>`` columns."""
    campaign = _campaign(pk)
    filter_form = ResultsFilterForm(request.GET or None, campaign=campaign)
    contacts = selectors.campaign_results(campaign, filter_form.filters())
    client = request.host_client
    return _results_csv(contacts, time_zone=client.time_zone,
                        filename=f"{client.schema_name}-campaign-{campaign.pk}-results-{timezone.localdate()}.csv")


RESULT_COLUMNS = ["contact", "list", "number", "first_name", "last_name", "email", "status", "attempts",
                  "last_outcome", "last_attempt_at", "disposition", "amount", "agent", "next_attempt_at", "reason"]


def _results_csv(contacts, *, time_zone: str, filename: str):
    tz = zoneinfo.ZoneInfo(time_zone)
    names = selectors.contact_field_names(contacts)
    schema = connection.schema_name
    statuses, outcomes = dict(Contact.Status.choices), dict(CallAttempt.Outcome.choices)

    def local(at):
        return at.astimezone(tz).isoformat(timespec="seconds") if at else ""

    def batches():
        # Each batch is its own query inside the client's schema: the server iterates this
        # after the view returns, when the shared connection may serve another host meanwhile.
        last = 0
        while True:
            with schema_context(schema):
                batch = list(contacts.filter(pk__gt=last).order_by("pk")[:EXPORT_BATCH])
                agents = agent_names(c.last_agent_id for c in batch)
            if not batch:
                return
            yield from ((c, agents) for c in batch)
            last = batch[-1].pk

    def rows():
        yield RESULT_COLUMNS + [f"field:{name}" for name in names]
        for c, agents in batches():
            fields = c.fields if isinstance(c.fields, dict) else {}
            yield [c.pk, c.list.name, c.number, c.first_name, c.last_name, c.email, statuses.get(c.status, c.status),
                   c.attempts, outcomes.get(c.last_outcome, c.last_outcome), local(c.last_attempt_at),
                   c.disposition.label if c.disposition else "",
                   "" if c.last_amount is None else str(c.last_amount), agents.get(c.last_agent_id, ""),
                   local(c.next_attempt_at), c.reason, *(fields.get(name) for name in names)]

    return csv_response(rows(), filename=filename)


# --- Lists: upload, mapping, the import's progress, recycling ---------------------------------

@portal_page
@require_POST
def list_upload(request: HttpRequest, pk: int) -> HttpResponse:
    """Step one: the file is stored with its list (``contact_import_prepare``, nothing queued),
    and its columns are mapped next."""
    admin_only(request)
    campaign = _campaign(pk)
    form = UploadForm(request.POST, request.FILES, campaign=campaign)
    if not form.is_valid():
        flash.error(request, " ".join(m for messages in form.errors.values() for m in messages))
        return redirect("portal:campaign", pk=campaign.pk)
    upload = form.cleaned_data["file"]
    try:
        with transaction.atomic():  # a file refused leaves no new, empty list behind
            contact_list = form.cleaned_data["contact_list"]
            if contact_list is None:
                contact_list, created = imports.contact_list_get_or_create(campaign=campaign,
                                                                           name=form.cleaned_data["name"])
                if created and form.cleaned_data["priority"]:
                    imports.contact_list_priority_set(contact_list=contact_list,
                                                      priority=form.cleaned_data["priority"])
            job = imports.contact_import_prepare(contact_list=contact_list, filename=upload.name or "",
                                                 data=upload.read(), added_by=request.user.email)
    except ValidationError as exc:
        flash.error(request, " ".join(exc.messages))
        return redirect("portal:campaign", pk=campaign.pk)
    return redirect("portal:contact_import_mapping", pk=job.pk)


def _import(pk: int, *defer: str) -> ContactImport:
    # Looked up in the host's schema: another client's import id is not found here.
    return get_object_or_404(ContactImport.objects.select_related("list__campaign").defer(*defer), pk=pk)


@portal_page
def contact_import_mapping(request: HttpRequest, pk: int) -> HttpResponse:
    """Step two: which column is which, pre-filled with the import's guess; then the job is queued."""
    admin_only(request)
    job = _import(pk, "errors")
    if job.mapping or job.status != ContactImport.Status.QUEUED:
        return redirect("portal:contact_import", pk=job.pk)  # mapped already (a second submit, the back button)
    columns = imports.csv_columns(bytes(job.data))
    guess = imports.mapping_guess(columns)
    form = MappingForm(request.POST or None, columns=columns,
                       initial={f"column_{i}": guess.get(column, "") for i, column in enumerate(columns)})
    if request.method == "POST" and form.is_valid():
        try:
            job = imports.contact_import_confirm(job=job, mapping=form.mapping())
        except ValidationError as exc:
            form.add_error(None, exc)
        else:
            return redirect("portal:contact_import", pk=job.pk)
    return render(request, "portal/campaign_mapping.html", {
        "job": job, "campaign": job.list.campaign, "form": form, "active": "campaigns",
        "rows": [(form[f"column_{i}"], column) for i, column in enumerate(columns)]})


@portal_page
def contact_import_detail(request: HttpRequest, pk: int) -> HttpResponse:
    job = _import(pk, "data")
    if not job.mapping and job.status == ContactImport.Status.QUEUED and is_client_admin(request):
        return redirect("portal:contact_import_mapping", pk=job.pk)
    errors = Paginator(job.errors, IMPORT_ERRORS_PER_PAGE).get_page(request.GET.get("page")) if job.is_finished else None
    return render(request, "portal/campaign_import.html", {
        "job": job, "campaign": job.list.campaign, "errors": errors, "active": "campaigns",
        "progress": imports.contact_import_progress(job=job)})


@portal_page
def contact_import_progress(request: HttpRequest, pk: int) -> JsonResponse:
    """What the import page's progress bar polls (static/portal/campaigns.js)."""
    response = JsonResponse(imports.contact_import_progress(job=_import(pk, "data", "errors")))
    response["Cache-Control"] = "no-store"
    return response


@portal_page
@require_POST
def list_recycle(request: HttpRequest, pk: int) -> HttpResponse:
    """Put a list's exhausted contacts back to be called afresh (``contact_list_recycle``)."""
    admin_only(request)
    contact_list = get_object_or_404(ContactList.objects.select_related("campaign"), pk=pk)
    try:
        count = imports.contact_list_recycle(contact_list=contact_list, by=_by(request))
    except ValidationError as exc:
        flash.error(request, " ".join(exc.messages))
    else:
        flash.success(request, f"{contact_list.name}: {count:,} contact{'s' if count != 1 else ''} out of attempts "
                               "back to be called afresh." if count else
                      f"{contact_list.name}: no contact is out of attempts; nothing to recycle.")
    return redirect("portal:campaign", pk=contact_list.campaign_id)
