"""A report as a table of plain values — the page's table, the CSV and the XLSX all come from
``report_table``, so the three never disagree.

Values are rounded once, here: percentages as fractions to 4 places (0.8333 = 83.33 %),
seconds to 0.1 s, other numbers to 0.01, money to the cent; counts are whole. A figure with
nothing to measure is an empty cell.
"""

from __future__ import annotations

import io
from decimal import Decimal

from django.http import HttpResponse, StreamingHttpResponse

from reports.figures import FIGURES, Figure, Report, Row
from switchboard.csv_export import csv_cell, csv_response

XLSX = "application/vnd.openxmlformats-officedocument.spreadsheetml.sheet"
GROUP_HEADER = {"day": "Day", "hour": "Hour", "agent": "Agent", "campaign": "Campaign", None: "Client"}


def cell(figure: Figure, value: object) -> int | float | Decimal | None:
    """A figure's value as the table, the CSV and the XLSX show it."""
    if value is None:
        return None
    if figure.kind == "count":
        return int(value)
    if figure.kind == "percent":
        return round(float(value), 4)
    if figure.kind == "seconds":
        return round(float(value), 1)
    if figure.kind == "money":
        return Decimal(value).quantize(Decimal("0.01"))
    return round(float(value), 2)


def row_cells(row: Row) -> list:
    return [cell(f, row.figures[f.name]) for f in FIGURES]


def report_table(report: Report, *, first: str | None = None, rows: list[Row] | None = None) -> list[list]:
    """The header, a line per row, then the total."""
    header = [first or GROUP_HEADER.get(report.by, "Row")] + [
        f"{f.label} ({f.kind})" if f.kind in ("percent", "seconds") else f.label for f in FIGURES]
    lines = [[r.label, *row_cells(r)] for r in (report.rows if rows is None else rows)]
    return [header, *lines, [report.total.label, *row_cells(report.total)]]


def csv_download(table: list[list], *, filename: str) -> StreamingHttpResponse:
    # Money as its own digits ("12.50"), not as JSON's quoted string.
    return csv_response(([str(v) if isinstance(v, Decimal) else v for v in line] for line in table), filename=filename)


def xlsx_download(table: list[list], *, filename: str, title: str) -> HttpResponse:
    """The table as one sheet; text cells neutralised like the CSV's (no formula runs)."""
    from openpyxl import Workbook

    book = Workbook(write_only=True)
    sheet = book.create_sheet(title=title[:31])
    for line in table:
        sheet.append([csv_cell(v) if isinstance(v, str) else v for v in line])
    out = io.BytesIO()
    book.save(out)
    response = HttpResponse(out.getvalue(), content_type=XLSX)
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
