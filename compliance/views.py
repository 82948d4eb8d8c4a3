"""The client portal's compliance pages: the DNC list (add, remove, CSV import) and the ledger.

Thin: forms in, services and selectors out. They live in urls_client, so they only run on a
client's host, in its schema, for that client's logged-in people (HostMembershipMiddleware).
"""

from __future__ import annotations

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.core.exceptions import ValidationError
from django.core.paginator import Paginator
from django.http import HttpRequest, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_POST

from compliance import selectors, services
from compliance.exports import ledger_csv_response
from compliance.forms import DncAddForm, DncImportForm, LedgerSearchForm
from compliance.rules import OptOutSource

MAX_IMPORT_BYTES = 5 * 1024 * 1024


@login_required
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
        "import_errors": request.session.pop("dnc_import_errors", None),
    })


@login_required
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


@login_required
@require_POST
def dnc_import(request: HttpRequest) -> HttpResponse:
    form = DncImportForm(request.POST, request.FILES)
    if not form.is_valid():
        messages.error(request, "Choose a CSV file to import.")
        return redirect("compliance:dnc")
    upload = form.cleaned_data["file"]
    if upload.size > MAX_IMPORT_BYTES:
        messages.error(request, "That file is over 5 MB; split it, or ask us to load it.")
        return redirect("compliance:dnc")
    result = services.dnc_csv_import(client=request.host_client, data=upload.read(), added_by=request.user.email)
    messages.success(request, f"Imported: {result.added} added, {result.already} already on the list, "
                              f"{len(result.errors)} row(s) with errors.")
    if result.errors:
        request.session["dnc_import_errors"] = result.errors[:200]
    return redirect("compliance:dnc")


def _ledger_entries(request: HttpRequest):
    form = LedgerSearchForm(request.GET or None)
    filters = form.cleaned_data if form.is_valid() else {}
    entries = selectors.ledger_search(
        query=filters.get("q") or "", event=filters.get("event") or "", outcome=filters.get("outcome") or "",
        since=filters.get("since"), until=filters.get("until"),
    )
    return form, entries


@login_required
def ledger(request: HttpRequest) -> HttpResponse:
    form, entries = _ledger_entries(request)
    page = Paginator(entries, 50).get_page(request.GET.get("page"))
    query = request.GET.copy()
    query.pop("page", None)
    return render(request, "compliance/ledger.html", {"form": form, "page": page, "query": query.urlencode()})


@login_required
def ledger_export(request: HttpRequest) -> HttpResponse:
    _, entries = _ledger_entries(request)
    return ledger_csv_response(entries.order_by("created", "id"),
                               filename=f"{request.host_client.schema_name}-compliance-ledger.csv")
