"""CSV export of messages, streamed (a year of messages need not fit in memory)."""

from __future__ import annotations

import zoneinfo

from django.db import connection
from django.db.models import QuerySet
from django.http import StreamingHttpResponse
from django_tenants.utils import schema_context

from answering.models import Message
from switchboard.csv_export import csv_response

COLUMNS = ["id", "taken", "urgency", "category", "source", "caller", "caller_name", "callback_number",
           "acknowledged_at", "acknowledged_by", "acknowledged_via", "filed_at"]


BATCH = 2000


def field_names(messages: QuerySet[Message]) -> list[str]:
    """Every captured field name in these messages, in a stable order (one column each)."""
    ids = messages.values("pk")
    sql, params = ids.query.sql_with_params()
    with connection.cursor() as cursor:
        cursor.execute(f"SELECT DISTINCT jsonb_object_keys(fields) FROM {connection.ops.quote_name(Message._meta.db_table)} "
                       f"WHERE jsonb_typeof(fields) = 'object' AND id IN ({sql})", params)
        return sorted(row[0] for row in cursor.fetchall())


def messages_csv_response(messages: QuerySet[Message], *, time_zone: str, filename: str) -> StreamingHttpResponse:
    """One row per message in the order taken; times in the client's time zone; the captured fields flattened
    into ``field:<name>`` columns."""
    tz = zoneinfo.ZoneInfo(time_zone)
    names = field_names(messages)

    def local(at):
        return at.astimezone(tz).isoformat(timespec="seconds") if at else ""

    schema = connection.schema_name

    def batches():
        # Each batch is its own query inside the client's schema: the server iterates this
        # after the view returns, when the shared connection may serve another host meanwhile.
        last = 0
        while True:
            with schema_context(schema):
                batch = list(messages.filter(pk__gt=last).order_by("pk")[:BATCH])
            if not batch:
                return
            yield from batch
            last = batch[-1].pk

    def rows():
        yield COLUMNS + [f"field:{name}" for name in names]
        for m in batches():
            fields = m.fields if isinstance(m.fields, dict) else {}
            yield [m.pk, local(m.created), m.urgency, m.category, m.source, m.caller, m.caller_name, m.callback_number,
                   local(m.acknowledged_at), m.acknowledged_by, m.acknowledged_via, local(m.filed_at),
                   *(fields.get(name) for name in names)]

    # The one CSV writer of every export: a caller's words never become a spreadsheet formula.
    return csv_response(rows(), filename=filename)
