"""The client portal's compliance pages: the DNC list (add, remove, CSV import in the background) and the ledger.

Thin: forms in, services and selectors out. They live in urls_client, so they only run on a
client's host, in its schema, for that client's logged-in people (HostMembershipMiddleware);
``portal_page`` makes them pages of the portal: its layout and navigation, the client's time zone.
"""

from __future__ import annotations

from django.contrib import messages
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.views.decorators.http import require_POST

from compliance import selectors, services
from compliance.exports import ledger_csv_response
from compliance.forms import DncAddForm, DncImportForm, LedgerSearchForm
from compliance.models import DncImport
from compliance.rules import OptOutSource
from portal.access import portal_page

IMPORT_ERRORS_PER_PAGE = 200


@portal_page
def dnc_list(request: HttpRequest) -> HttpResponse:
    form = DncAddForm(request.POST or None)
    if request.method == "POST" and form.is_valid():
        try:
            entry, created = services.opt_out_record(
                client=request.host_client, number=form.cleaned_data["number"], source=OptOutSource.PORTAL,
                added_by=request.user.email, reason=form.cleaned_data["reason"],
            )
        except ValidationError as exc:
            form.add_error("number", exc.messages[0])
        else:
            messages.success(request, f"{entry.number} added." if created else f"{entry.number} was already on the list.")
            return redirect("compliance:dnc")
    query = request.GET.get("q", "")
    page = Paginator(selectors.dnc_entry_list(query=query), 50).get_page(request.GET.get("page"))
    return render(request, "compliance/dnc_list.html", {
        "form": form, "import_form": DncImportForm(), "page": page, "query": query,
        "imports": DncImport.objects.defer("data", "errors")[:5], "active": "dnc",
        "time_zone": request.host_client.time_zone,
    })


@portal_page
@require_POST
def dnc_remove(request: HttpRequest) -> HttpResponse:
    try:
        entry = services.dnc_entry_remove(client=request.host_client, number=request.POST.get("number", ""),
                                          removed_by=request.user.email, reason=request.POST.get("reason", ""))
    except ValidationError as exc:
        messages.error(request, exc.messages[0])
    else:
        if entry:
            messages.success(request, f"{entry.number} removed; the entry is kept for the record.")
        else:
            messages.info(request, "That number was not on the list.")
    return redirect("compliance:dnc")


@portal_page
@require_POST
def dnc_import(request: HttpRequest) -> HttpResponse:
    form = DncImportForm(request.POST, request.FILES)
    if not form.is_valid():
        messages.error(request, "Choose a CSV file to import.")
        return redirect("compliance:dnc")
    upload = form.cleaned_data["file"]
    if upload.size > services.dnc_import.MAX_IMPORT_BYTES:  # before reading it into memory
        messages.error(request, "That file is over 5 MB; split it, or ask us to load it.")
        return redirect("compliance:dnc")
    try:
        job = services.dnc_import_start(client=request.host_client, data=upload.read(), filename=upload.name or "",
                                        added_by=request.user.email)
    except ValidationError as exc:
        messages.error(request, " ".join(exc.messages))
        return redirect("compliance:dnc")
    return redirect("compliance:dnc_import_detail", pk=job.pk)


@portal_page
def dnc_import_detail(request: HttpRequest, pk: int) -> HttpResponse:
    job = get_object_or_404(DncImport.objects.defer("data"), pk=pk)
    errors = Paginator(job.errors, IMPORT_ERRORS_PER_PAGE).get_page(request.GET.get("page")) if job.is_finished else None
    return render(request, "compliance/dnc_import.html", {"job": job, "errors": errors, "active": "dnc",
                                                          "progress": selectors.dnc_import_progress(job=job)})


@portal_page
def dnc_import_progress(request: HttpRequest, pk: int) -> JsonResponse:
    """What the import page's progress bar polls (static/compliance/dnc_import.js)."""
    job = get_object_or_404(DncImport.objects.defer("data", "errors"), pk=pk)
    response = JsonResponse(selectors.dnc_import_progress(job=job))
    response["Cache-Control"] = "no-store"
    return response


def _ledger_entries(request: HttpRequest):
    form = LedgerSearchForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    entries = selectors.ledger_search(
        query=filters.get("q") or "", event=filters.get("event") or "", outcome=filters.get("outcome") or "",
        since=filters.get("since"), until=filters.get("until"),
    )
    return form, entries


@portal_page
def ledger(request: HttpRequest) -> HttpResponse:
    form, entries = _ledger_entries(request)
    page = Paginator(entries, 50).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "compliance/ledger.html", {"form": form, "page": page, "query": query.urlencode(),
                                                      "active": "ledger", "time_zone": request.host_client.time_zone})


@portal_page
def ledger_export(request: HttpRequest) -> HttpResponse:
    _, entries = _ledger_entries(request)
    return ledger_csv_response(entries.order_by("created", "id"),
                               filename=f"{request.host_client.schema_name}-compliance-ledger.csv",
                               time_zone=request.host_client.time_zone)
