"""What a report page draws and lists: the charts' series (``static/portal/reports.js`` draws
them with uPlot) and the tables beside them — both from ``exports.cell``, so a chart's point,
its table cell, the CSV and the XLSX are the same number."""

from __future__ import annotations

import datetime as dt

from reports.exports import cell
from reports.figures import FIGURE_BY_NAME, FIGURES, SECTIONS, Report, Row

CHARTS = (
    ("calls", "Inbound calls", "count", ("offered", "answered", "abandoned")),
    ("service", "Service level and abandonment", "percent", ("service_level", "service_level_offered",
                                                             "abandonment_rate")),
    ("times", "Speed of answer and handle time", "seconds", ("average_speed_of_answer", "average_handle_time")),
    ("taken", "Messages and appointments", "count", ("messages", "dispatches", "booked")),
    ("outbound", "Outbound", "count", ("dials", "conversions")),
)
SECTION_TITLES = {"inbound": "Inbound calls", "messages": "Messages", "outbound": "Outbound",
                  "appointments": "Appointments"}


def display(kind: str, value) -> str:
    """A cell as the page shows it."""
    if value is None:
        return "—"
    if kind == "percent":
        return f"{value * 100:.1f} %"
    if kind == "seconds":
        return f"{value:.1f} s"
    if kind == "money":
        return f"{value:,.2f}"
    if kind == "count":
        return f"{value:,}"
    return f"{value:.2f}"


def _x(report: Report, row: Row, index: int) -> float:
    if report.by == "day":
        return dt.datetime.combine(row.key, dt.time.min, tzinfo=report.period.tz).timestamp()
    if report.by == "hour":
        return row.key.timestamp()
    return index


def chart_data(report: Report, rows: list[Row] | None = None) -> dict:
    """The charts' data (JSON): x (epoch seconds for days and hours, else the row's index),
    the row labels, and per chart its series of plain values (percent as 0–100)."""
    rows = report.rows if rows is None else rows
    charts = []
    for key, title, kind, names in CHARTS:
        if key == "outbound" and not report.total.counts.get("dials"):
            continue  # no campaign dialed in the period: no empty chart
        series = []
        for name in names:
            figure = FIGURE_BY_NAME[name]
            values = [cell(figure, r.figures[name]) for r in rows]
            if kind == "percent":
                values = [None if v is None else round(v * 100, 2) for v in values]
            series.append({"label": figure.label, "values": [None if v is None else float(v) for v in values]})
        charts.append({"id": key, "title": title, "kind": kind, "series": series})
    return {"time": report.by in ("day", "hour"), "by": report.by, "zone": report.period.time_zone,
            "x": [_x(report, r, i) for i, r in enumerate(rows)], "labels": [r.label for r in rows],
            "charts": charts}


def tables(report: Report, rows: list[Row] | None = None) -> list[dict]:
    """One table per section: its figures as columns, a line per row, the total last."""
    rows = report.rows if rows is None else rows
    out = []
    for section in SECTIONS:
        columns = [f for f in FIGURES if f.section == section]

        def line(row: Row, columns=columns) -> dict:
            cells = []
            for f in columns:
                value = cell(f, row.figures[f.name])
                cells.append({"name": f.name, "value": "" if value is None else str(value),
                              "text": display(f.kind, value)})
            return {"label": row.label, "cells": cells}

        out.append({"section": section, "title": SECTION_TITLES[section], "columns": columns,
                    "lines": [line(r) for r in rows], "total": line(report.total)})
    return out


def campaigns_now(report: Report) -> list[dict]:
    """Each campaign as it stands now (``campaign_figures``), formatted; completion = contacts finished ÷ contacts."""
    pct = lambda v: display("percent", None if v is None else round(v, 4))
    return [{"name": name, "contacts": c.contacts,
             "completion": pct((c.contacts - c.contacts_left) / c.contacts if c.contacts else None),
             "answer_rate_today": pct(c.answer_rate_today), "abandon_rate_today": pct(c.abandon_rate_today),
             "abandon_rate_30d": pct(c.abandon_rate_30d)} for name, c in report.campaigns]


def page_context(report: Report, *, query: str, rows: list[Row] | None = None) -> dict:
    return {"chart_data": chart_data(report, rows), "tables": tables(report, rows), "query": query,
            "definitions": [(f.label, f.definition) for f in FIGURES], "campaigns_now": campaigns_now(report)}
