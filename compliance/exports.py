"""CSV exports of the audit ledger, shared by the portal and the admin."""

from __future__ import annotations

from django.db import connection
from django.db.models import Q
from django.http import StreamingHttpResponse
from django_tenants.utils import schema_context

from answering.messages.display import iso_local
from switchboard.csv_export import csv_response

BATCH = 2000

COLUMNS = ["id", "created", "at", "event", "number", "purpose", "channel", "outcome", "reasons", "asked_by",
           "campaign_id", "rule_versions", "detail"]


def ledger_csv_response(entries, filename: str = "compliance-ledger.csv", *,
                        time_zone: str | None = None) -> StreamingHttpResponse:
    """Stream the entries as CSV (a five-year ledger does not fit in memory). Texters' words
    land in it (``detail``): the shared writer keeps them from running as formulas. Times
    are the client's local time (``time_zone``, else the schema's client's), each with its offset."""
    schema = connection.schema_name
    if time_zone is None:
        time_zone = getattr(connection.tenant, "time_zone", None) or "UTC"

    def batches():
        # Each batch is its own query inside the client's schema: the server iterates this
        # after the view has returned, when the shared connection may be serving another
        # client's host meanwhile (under ASGI, sync code shares one thread and connection).
        # Keyset pagination on (created, id), the ledger's order.
        last = None
        while True:
            page = entries if last is None else entries.filter(
                Q(created__gt=last.created) | Q(created=last.created, pk__gt=last.pk))
            with schema_context(schema):
                batch = list(page.order_by("created", "id")[:BATCH])
            if not batch:
                return
            yield from batch
            last = batch[-1]

    def rows():
        yield COLUMNS
        for e in batches():
            yield [
                e.pk, iso_local(e.created, time_zone), iso_local(e.at, time_zone), e.event, e.number, e.purpose, e.channel, e.outcome,
                " | ".join(f"{'DENY' if r.get('deny') else 'ok'} {r['code']}: {r['text']}" for r in e.reasons),
                e.asked_by, e.campaign_id or "", "; ".join(f"{k}={v}" for k, v in e.rule_versions.items()), e.detail,
            ]

    return csv_response(rows(), filename=filename)
