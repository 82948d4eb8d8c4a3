"""The cross-client report on the platform host, for supervisors and platform admins: a row
per client (each client's period in its own time zone), charts and the numbers beside them,
CSV and XLSX; ``?client=<slug>`` opens one client's report grouped by day, hour, agent or
campaign. Every client's figures are computed in its own schema (``reports.figures``)."""

from __future__ import annotations

from http import HTTPStatus

from django.conf import settings
from django.contrib.auth.decorators import login_required
from django.http import HttpRequest, HttpResponse
from django.shortcuts import render
from django_tenants.utils import schema_context

from answering.acd import selectors as acd_selectors
from reports import charts, exports, figures
from reports.forms import ReportForm
from tenants.models import Client, Role, User

ALLOWED = (Role.SUPERVISOR, Role.PLATFORM_ADMIN)


def _clients() -> list[Client]:
    return list(Client.objects.exclude(schema_name="public").order_by("name"))


def _platform_report(request: HttpRequest) -> dict:
    """The page's report: across clients (one row each), or one client's; ``refused`` says why not."""
    clients = _clients()
    slug = request.GET.get("client") or ""
    client = next((c for c in clients if c.schema_name == slug), None)
    if slug and client is None:
        return {"refused": "Client: no client by that name.", "clients": clients, "form": ReportForm(
            request.GET, time_zone=settings.TIME_ZONE)}
    zone = client.time_zone if client else settings.TIME_ZONE
    form = ReportForm(request.GET or None, time_zone=zone,
                      groupings=figures.GROUPINGS if client else ("day",))
    try:
        period, by = form.period()
    except figures.PeriodRefused as refused:
        return {"refused": str(refused), "clients": clients, "form": form, "client": client}
    if client:
        with schema_context(client.schema_name):
            report = figures.report_build(period, by)
        return {"report": report, "rows": None, "clients": clients, "form": form, "client": client,
                "query": form.query(period, by) + f"&client={client.schema_name}", "row_header": by.capitalize()}
    rows = []
    for each in clients:
        # The same dates, in each client's own zone: its local days.
        local = figures.Period(period.start, period.end, each.time_zone)
        with schema_context(each.schema_name):
            one = figures.report_build(local, None)
        rows.append(figures.Row(each.schema_name, each.name, one.total.counts, one.total.figures))
    totals = figures._zeroes()
    for row in rows:
        for name in (*figures.COUNTS, *figures.SPANS):
            totals[name] = totals.get(name, 0) + (row.counts.get(name) or 0)
    # Occupancy is the agents' across every client (the presence log): platform-wide only.
    agents, everyone = _agents_occupancy(period)
    if everyone is not None:
        totals.update(presence_handled=everyone.handled, presence_logged_in=everyone.logged_in)
    report = figures.Report(period, None, rows, figures.Row(None, "All clients", totals, figures.figures_of(totals)),
                            0, 0, 0)
    return {"report": report, "rows": rows, "clients": clients, "form": form, "client": None,
            "query": form.query(period, "day"), "row_header": "Client", "agents": agents}


def _agents_occupancy(period: figures.Period) -> tuple[list[dict], acd_selectors.Occupancy | None]:
    """Each agent's presence over the period (the platform's local days) and everyone's total."""
    per_agent = acd_selectors.occupancy_totals(
        acd_selectors.occupancy_by_agent(None, period.starts_at, period.ends_at, period.tz))
    everyone = per_agent.pop(None, None)
    names = {u.pk: str(u) for u in User.objects.filter(pk__in=per_agent)}
    rows = [{"name": names.get(pk, pk), "hours": {s: one.seconds.get(s, 0) / 3600 for s in
                                                   ("available", "on_call", "wrap_up", "break", "away")},
             "logged_in": one.logged_in / 3600, "occupancy": one.occupancy}
            for pk, one in per_agent.items()]
    return sorted(rows, key=lambda r: str(r["name"])), everyone


@login_required
def platform_reports(request: HttpRequest) -> HttpResponse:
    if request.user.role not in ALLOWED:
        return HttpResponse("Reports across clients are for supervisors and platform admins.",
                            status=HTTPStatus.FORBIDDEN)
    context = _platform_report(request)
    if "report" not in context:
        return render(request, "portal/reports_platform.html", context, status=HTTPStatus.BAD_REQUEST)
    context.update(charts.page_context(context["report"], query=context["query"]))
    context["export_base"] = "/reports/export"
    return render(request, "portal/reports_platform.html", context)


@login_required
def platform_reports_export(request: HttpRequest, fmt: str) -> HttpResponse:
    if request.user.role not in ALLOWED:
        return HttpResponse("Reports across clients are for supervisors and platform admins.",
                            status=HTTPStatus.FORBIDDEN)
    context = _platform_report(request)
    if "report" not in context:
        return HttpResponse(f"Choose another period: {context['refused']}", status=HTTPStatus.BAD_REQUEST,
                            content_type="text/plain; charset=utf-8")
    report, client = context["report"], context["client"]
    table = exports.report_table(report, first=context["row_header"])
    name = f"report-{client.schema_name if client else 'all-clients'}-{report.period.start}-{report.period.end}"
    if fmt == "xlsx":
        return exports.xlsx_download(table, filename=f"{name}.xlsx", title="Report")
    return exports.csv_download(table, filename=f"{name}.csv")
