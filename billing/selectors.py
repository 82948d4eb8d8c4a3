"""Reads of billing: statements, their items, the CSV rows, a run's progress."""

from __future__ import annotations

import zoneinfo
from collections.abc import Iterator

from django.core.paginator import Paginator
from django.db.models import QuerySet
from django.utils.functional import cached_property

from billing.models import Statement, StatementItem
from billing.platform.models import BillingRun

CSV_HEADER = ["item", "kind", "occurred_at", "call_id", "reference", "source_id", "description",
              "measured_seconds", "billed_seconds", "included_seconds", "amount"]


def statement_list() -> QuerySet[Statement]:
    """The client's statements, newest period first (run inside the client's schema)."""
    return Statement.objects.order_by("-starts_at")


def statement_items(statement: Statement, kind: str = "") -> QuerySet[StatementItem]:
    items = statement.items.order_by("occurred_at", "id")
    return items.filter(kind=kind) if kind else items


class _CountedPaginator(Paginator):
    """Pages of a statement's items, counted from the statement's summary (written from the
    items in the build's transaction) instead of counting a month of rows on every page."""

    def __init__(self, object_list, per_page: int, *, known_count: int) -> None:
        super().__init__(object_list, per_page)
        self._known_count = known_count

    @cached_property
    def count(self) -> int:
        return self._known_count


def statement_page(statement: Statement, kind: str = "", *, per_page: int) -> Paginator:
    """The statement's items in order (of one kind when given), for pages of ``per_page``."""
    known = statement.summary.get(kind, {}).get("items", 0) if kind else statement.item_count
    return _CountedPaginator(statement_items(statement, kind), per_page, known_count=known)


def statement_csv_rows(statement: Statement, *, batch: int = 5000) -> Iterator[list]:
    """The statement for invoicing: the header, one row per item (times in the statement's
    zone, amounts as written), then the total — which is the sum of the amounts above it."""
    tz = zoneinfo.ZoneInfo(statement.time_zone)
    yield CSV_HEADER
    last = 0
    while True:
        # Keyset pages: a month of 100,000 items streams without holding them all.
        rows = list(statement.items.filter(id__gt=last).order_by("id")[:batch])
        if not rows:
            break
        for item in rows:
            yield [item.pk, item.kind, item.occurred_at.astimezone(tz).isoformat(timespec="seconds"),
                   item.call_id or "", item.reference, item.source_id or "", item.description,
                   _number(item.measured_seconds), _number(item.billed_seconds), _number(item.included_seconds),
                   str(item.amount)]
        last = rows[-1].pk
    yield ["total", "", "", "", "", "", f"Statement {statement.period} ({statement.get_status_display()})",
           "", "", "", str(statement.total)]


def _number(value: int | None) -> str:
    return "" if value is None else str(value)


def billing_run_progress(*, run: BillingRun) -> dict:
    """What the run's page shows and its bar polls (static/import_progress.js)."""
    percent = 100 if run.is_finished else (100 * run.done // run.total if run.total else 0)
    failed = sum(1 for r in run.results if r.get("status") == "failed")
    if run.status == BillingRun.Status.QUEUED:
        text = "Waiting for a worker to start the run…"
    elif run.is_finished:
        text = (f"{run.get_status_display()}: {run.done:,} of {run.total:,} clients billed for {run.period}"
                + (f", {failed} failed." if failed else "."))
    else:
        text = f"Billing {run.period}: {run.done:,} of {run.total:,} clients…"
    return {"percent": percent, "text": text, "finished": run.is_finished, "done": run.done, "total": run.total}
