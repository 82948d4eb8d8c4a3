"""Closed days' counts, kept: a report of a month reads a day that has ended from
``DayCounts`` instead of its records, as long as the records are unchanged — exactly.

A past day's records still change (a wrap-up ending after midnight, a late recording or status
callback, a re-disposition, a call moved to another day), so a cached day is valid only while
the changes the database counted for its slots (``RecordChange``, written by a trigger in every
writer's transaction, migration 0002) sum to what they summed to when the day was counted. The
sum only grows, so equal means unchanged. The sum is read *before* the records are counted: a
write committed in between is in the counts but not in the sum, so the day is counted again next
time (never the other way round — a count that misses a write whose change is in the sum).

What the groups depend on besides the records (the client's thresholds, which dispositions are
a success) is ``params``, part of the key; the day's instants (``starts_at``, ``ends_at``) carry
the time zone. A day that has not ended yet is always counted from its records.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Callable
from decimal import Decimal

from django.db import connection, transaction
from django.utils import timezone

from reports.models import DayCounts, RecordChange

# The unit of a grain's buckets: a day's groups carry bucket 1; an hour's, the hour of its day (1 …).
HOUR = 3600

Compute = Callable[..., list[dict]]  # Period → groups (reports.figures: imported late, no cycle)


def day_groups(period, source: str, grain: str, compute: Compute, *, params: str = "") -> list[dict]:
    """``compute(period)``'s groups (each with its 1-based ``bucket`` of ``grain``, day or hour,
    over ``period``), the same ones: days that have ended from the cache while their records are
    unchanged, the others counted by ``compute`` over runs of consecutive days (and kept when the
    day has ended)."""
    from reports.figures import Period

    days = [period.start + dt.timedelta(days=n) for n in range(period.days + 1)]
    bounds = {d: (_midnight(d, period), _midnight(days[i + 1], period)) for i, d in enumerate(days[:-1])}
    days = days[:-1]
    now = timezone.now()
    closed = [d for d in days if bounds[d][1] <= now]
    if not closed or (grain == "hour" and any((e - s).total_seconds() % HOUR for s, e in bounds.values())):
        return compute(period)  # nothing kept, or days of a half hour (Lord Howe): the hours would not line up
    with transaction.atomic():  # the counting and the keeping in one transaction: a TRUNCATE waits for both
        kept = _kept(source, grain, params, [bounds[d] for d in closed])
        missing = [d for d in days if bounds[d][0] not in kept]
        to_keep = [d for d in missing if bounds[d][1] <= now]
        changes = _changes(source, [bounds[d] for d in to_keep])  # before counting (see the module's doc)
        fresh: dict[dt.date, list[dict]] = {}
        for run in _runs(missing):
            sub = Period(run[0], run[-1], period.time_zone)
            fresh.update(_split(sub, grain, compute(sub), {d: bounds[d] for d in run}))
        if to_keep:
            DayCounts.objects.bulk_create(
                [DayCounts(source=source, grain=grain, params=params, starts_at=bounds[d][0], ends_at=bounds[d][1],
                           changes=changes[i], groups=_encode(fresh.get(d, []))) for i, d in enumerate(to_keep)],
                update_conflicts=True, unique_fields=["source", "grain", "params", "starts_at", "ends_at"],
                update_fields=["changes", "groups", "counted"])
    out: list[dict] = []
    offset = 0
    for d in days:
        start, end = bounds[d]
        if start in kept:
            groups = _decode(kept[start])  # parsed for this call alone: ours to renumber
            for g in groups:
                g["bucket"] += offset
        else:
            groups = [{**g, "bucket": g["bucket"] + offset} for g in fresh.get(d, [])]
        out += groups
        offset += 1 if grain == "day" else int((end - start).total_seconds()) // HOUR
    return out


def _midnight(day: dt.date, period) -> dt.datetime:
    return dt.datetime.combine(day, dt.time.min, tzinfo=period.tz)


def _runs(days: list[dt.date]) -> list[list[dt.date]]:
    runs: list[list[dt.date]] = []
    for d in days:
        if runs and (d - runs[-1][-1]).days == 1:
            runs[-1].append(d)
        else:
            runs.append([d])
    return runs


def _split(sub, grain: str, groups: list[dict], bounds: dict) -> dict[dt.date, list[dict]]:
    """``sub``'s groups by day, each bucket made its day's own (1, or the hour of the day)."""
    firsts = []  # (first bucket of the day, day)
    bucket = 1
    for d, (start, end) in bounds.items():
        firsts.append((bucket, d))
        bucket += 1 if grain == "day" else int((end - start).total_seconds()) // HOUR
    out: dict[dt.date, list[dict]] = {d: [] for d in bounds}
    for g in groups:
        first, day = max((f for f in firsts if f[0] <= g["bucket"]), key=lambda f: f[0])
        out[day].append({**g, "bucket": g["bucket"] - first + 1})
    return out


def _kept(source: str, grain: str, params: str, bounds: list[tuple]) -> dict:
    """{starts_at: groups} of the days kept whose records have not changed since (one query)."""
    table, changes = DayCounts._meta.db_table, RecordChange._meta.db_table
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT c.starts_at, c.groups FROM {table} c"
            f" JOIN unnest(%s::timestamptz[], %s::timestamptz[]) AS r(s, e) ON c.starts_at = r.s AND c.ends_at = r.e"
            f" WHERE c.source = %s AND c.grain = %s AND c.params = %s AND c.starts_at BETWEEN %s AND %s"
            f"   AND c.changes ="
            f"   (SELECT COALESCE(SUM(d.changes), 0) FROM {changes} d"
            f"     WHERE d.source = c.source AND d.slot >= c.starts_at AND d.slot < c.ends_at)",
            [[s for s, _ in bounds], [e for _, e in bounds], source, grain, params, bounds[0][0], bounds[-1][0]])
        return {start: groups for start, groups in cursor.fetchall()}


def _changes(source: str, bounds: list[tuple]) -> list[int]:
    """The changes counted so far in each of these days (one query)."""
    if not bounds:
        return []
    with connection.cursor() as cursor:
        cursor.execute(
            f"SELECT COALESCE(SUM(d.changes), 0) FROM unnest(%s::timestamptz[], %s::timestamptz[])"
            f"   WITH ORDINALITY AS r(s, e, i)"
            f" LEFT JOIN {RecordChange._meta.db_table} d ON d.source = %s AND d.slot >= r.s AND d.slot < r.e"
            f" GROUP BY r.i ORDER BY r.i", [[s for s, _ in bounds], [e for _, e in bounds], source])
        return [int(n) for (n,) in cursor.fetchall()]


def _encode(groups: list[dict]) -> list[dict]:
    """JSON-ready groups: a Decimal (amounts) kept exact as ``{"decimal": "12.50"}``."""
    return [{k: {"decimal": str(v)} if isinstance(v, Decimal) else v for k, v in g.items()} for g in groups]


def _decode(groups) -> list[dict]:
    """The kept groups as counted (Decimals back). Read as text and parsed here: a month is a
    few thousand small dicts, and only amounts need a second look."""
    if isinstance(groups, str):  # a raw cursor's jsonb is text
        groups = json.loads(groups)
    for g in groups:
        for k, v in g.items():
            if v.__class__ is dict:
                g[k] = Decimal(v["decimal"])
    return groups
