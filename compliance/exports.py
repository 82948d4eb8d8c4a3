"""CSV exports of the audit ledger, shared by the portal and the admin."""

from __future__ import annotations

import csv

from django.http import StreamingHttpResponse

COLUMNS = ["id", "created", "at", "event", "number", "purpose", "channel", "outcome", "reasons", "asked_by",
           "campaign_id", "rule_versions", "detail"]


class _Echo:
    def write(self, value):
        return value


def ledger_csv_response(entries, filename: str = "compliance-ledger.csv") -> StreamingHttpResponse:
    """Stream the entries as CSV (a five-year ledger does not fit in memory)."""
    writer = csv.writer(_Echo())

    def rows():
        yield writer.writerow(COLUMNS)
        for e in entries.iterator(chunk_size=2000):
            yield writer.writerow([
                e.pk, e.created.isoformat(), e.at.isoformat(), e.event, e.number, e.purpose, e.channel, e.outcome,
                " | ".join(f"{'DENY' if r.get('deny') else 'ok'} {r['code']}: {r['text']}" for r in e.reasons),
                e.asked_by, e.campaign_id or "", "; ".join(f"{k}={v}" for k, v in e.rule_versions.items()), e.detail,
            ])

    response = StreamingHttpResponse(rows(), content_type="text/csv; charset=utf-8")
    response["Content-Disposition"] = f'attachment; filename="{filename}"'
    return response
