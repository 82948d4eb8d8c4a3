"""The client portal's reports: its figures over a period of its local days, grouped by day,
hour, agent or campaign, drawn as charts (uPlot, served from /static/) with the numbers beside
them, and downloaded as CSV or XLSX (the same table).

Thin: ``reports.forms`` parses, ``reports.figures`` computes (in the host's schema: no client
sees another's calls), ``reports.exports`` makes the table. Every person of the host may read
it. A bad date or grouping is a 400 page that says which field and why.
"""

from __future__ import annotations

from http import HTTPStatus

from django.http import HttpRequest, HttpResponse
from django.shortcuts import render

from portal.access import portal_page
from reports import charts, exports, figures
from reports.forms import ReportForm


def _report(request: HttpRequest) -> tuple[ReportForm, figures.Report | None, str]:
    client = request.host_client
    form = ReportForm(request.GET or None, time_zone=client.time_zone)
    try:
        period, by = form.period()
    except figures.PeriodRefused as refused:
        return form, None, str(refused)
    return form, figures.report_build(period, by, campaigns_now=True), ""


@portal_page
def reports_page(request: HttpRequest) -> HttpResponse:
    form, report, refused = _report(request)
    context = {"form": form, "report": report, "refused": refused, "active": "reports",
               "time_zone": request.host_client.time_zone, "export_base": "/reports/export"}
    if report is None:
        return render(request, "portal/reports.html", context, status=HTTPStatus.BAD_REQUEST)
    context.update(charts.page_context(report, query=form.query(report.period, report.by)))
    return render(request, "portal/reports.html", context)


@portal_page
def reports_export(request: HttpRequest, fmt: str) -> HttpResponse:
    _, report, refused = _report(request)
    if report is None:
        return HttpResponse(f"Choose another period: {refused}", status=HTTPStatus.BAD_REQUEST,
                            content_type="text/plain; charset=utf-8")
    client = request.host_client
    table = exports.report_table(report)
    name = f"report-{client.schema_name}-{report.period.start}-{report.period.end}-by-{report.by}"
    if fmt == "xlsx":
        return exports.xlsx_download(table, filename=f"{name}.xlsx", title=f"By {report.by}")
    return exports.csv_download(table, filename=f"{name}.csv")
