"""The client portal's billing: the current month's statement and past ones, each item with
its call (a link to that call in the call log), the totals, and a CSV for invoicing.

For the client's admins (``admin_only``): a bill is the organisation's business, not every
user's. Statements are read in the host's schema, so another client's ids are not found (404).
The current month's draft is brought up to date when the page is opened and it is more than
five minutes old (only what changed is rewritten, see billing/services.py), and on "Rebuild";
an issued statement never changes.
"""

from __future__ import annotations

from datetime import timedelta

from django.contrib import messages as flash
from django.http import HttpRequest, HttpResponse
from django.shortcuts import get_object_or_404, redirect, render
from django.utils import timezone
from django.views.decorators.http import require_POST

from billing import selectors
from billing.models import Statement, StatementItem
from billing.services import NoPlan, StatementClosed, period_current, plan_for, statement_build
from portal.access import admin_only, portal_page
from switchboard.csv_export import csv_response

ITEMS_PER_PAGE = 100
DRAFT_FRESH_SECONDS = 300  # the current month's draft is rebuilt on a view once it is older than this


def _current(request: HttpRequest) -> tuple[Statement | None, str]:
    """This month's statement, brought up to date while it is a draft; or why there is none."""
    client = request.host_client
    period = str(period_current(client))
    existing = Statement.objects.filter(period=period).first()
    # A fresh draft is shown as it is: bringing a big month up to date is a few hundred ms, not for every view.
    if existing is not None and (not existing.is_draft
                                 or timezone.now() - existing.built_at < timedelta(seconds=DRAFT_FRESH_SECONDS)):
        return existing, ""
    try:
        return statement_build(client=client, period=period), ""
    except NoPlan:
        return existing, "No billing plan is set for you yet: your answering service sets it up."


@portal_page
def billing(request: HttpRequest) -> HttpResponse:
    """The current statement (its summary) and the list of past ones."""
    admin_only(request)
    current, problem = _current(request)
    plan = plan_for(request.host_client)
    return render(request, "portal/billing.html", {
        "active": "billing", "current": current, "problem": problem, "plan": plan,
        "statements": selectors.statement_list().exclude(pk=current.pk if current else None),
        "kinds": _kinds(current)})


def _kinds(statement: Statement | None) -> list[dict]:
    if statement is None:
        return []
    labels = dict(StatementItem.Kind.choices)
    return [{"kind": kind, "label": labels.get(kind, kind), **row} for kind, row in statement.summary.items()]


@portal_page
def statement_detail(request: HttpRequest, pk: int) -> HttpResponse:
    """One statement, every item with what it bills; filtered by kind, paginated."""
    admin_only(request)
    statement = get_object_or_404(Statement, pk=pk)
    kind = request.GET.get("kind", "")
    if kind and kind not in StatementItem.Kind.values:
        kind = ""
    page = selectors.statement_page(statement, kind, per_page=ITEMS_PER_PAGE).get_page(request.GET.get("page"))
    return render(request, "portal/billing_statement.html", {
        "active": "billing", "statement": statement, "page": page, "kind": kind, "kinds": _kinds(statement),
        "time_zone": statement.time_zone})


@portal_page
def statement_export(request: HttpRequest, pk: int) -> HttpResponse:
    """The statement as CSV for invoicing: one row per item, then the total."""
    admin_only(request)
    statement = get_object_or_404(Statement, pk=pk)
    client = request.host_client
    return csv_response(selectors.statement_csv_rows(statement),
                        filename=f"{client.schema_name}-statement-{statement.period}.csv")


@portal_page
@require_POST
def statement_rebuild(request: HttpRequest, pk: int) -> HttpResponse:
    """Rebuild a draft from the records as they are now (an issued statement is refused)."""
    admin_only(request)
    statement = get_object_or_404(Statement, pk=pk)
    try:
        statement_build(client=request.host_client, period=statement.period)
    except StatementClosed as exc:
        flash.error(request, str(exc))
    except NoPlan as exc:
        flash.error(request, str(exc))
    else:
        flash.success(request, f"The statement for {statement.period} was rebuilt from the call log.")
    return redirect("portal:billing_statement", pk=statement.pk)
