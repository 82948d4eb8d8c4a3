"""Usage billing's figures (issue #19).

1. A month's statement for a client with 100,000 calls in the month, against a plain aggregate
   query over the same rows in the same run (``count`` and ``sum`` of the month's answered
   calls). Target: p99 under 1 s. What is timed is what a client waits for when they open the
   current statement (``portal/billing.py``): the draft brought up to date
   (``billing.services.statement_build``) after five minutes of traffic — a dozen new calls in
   the month's last ten minutes, one of them still in progress, the previous one in progress
   now finished, and one call of the last hour whose wrap-up changed — then the statement's
   first page of items (the page's count is the statement's). Also reported, not the target: a
   build from nothing (the month's first build, or after a plan change; ``full=True``) and a
   rebuild after a change to a call on the month's first day (every item after it rewritten).
2. The billing run (``billing.services.billing_run``) over 500 clients with 2,000 calls each:
   total time. Target: under 60 s. Only the run is timed; the 500 schemas are provisioned
   (cloned from the template schema) and filled with one INSERT … SELECT each beforehand.
   ``BENCH_KEEP=1`` keeps that database for the next run (``switchboard_bench_billing_run``),
   which then skips the set-up.

Run with services up: `python tests/bench/bench_billing.py` (`BENCH_PART=statement` or `run`
for one part; `BENCH_RUNS` opened statements, default 30; `BENCH_FULL_RUNS` full builds and
early changes, default 5; `BENCH_CLIENTS`, default 500).
"""

from __future__ import annotations

import os
import statistics
import sys
import time
from contextlib import contextmanager

from _django import _with_database, bench_database, progress

RUNS = int(os.getenv("BENCH_RUNS", "30"))
FULL_RUNS = int(os.getenv("BENCH_FULL_RUNS", "5"))
CLIENTS = int(os.getenv("BENCH_CLIENTS", "500"))
KEEP = os.getenv("BENCH_KEEP", "0") == "1"
PART = os.getenv("BENCH_PART", "")
RUN_DATABASE = "switchboard_bench_billing_run"

# Calls spread over November 2026 in New York (DST ends on the 1st): 3 % abandoned, the rest
# answered with 10–600 s of talk (a fifth with some hold), 0–60 s of wrap-up, 5–40 s in the menu.
CALLS_SQL = """
INSERT INTO {schema}.answering_callrecord
    (call_sid, caller, number_dialed, language, menu_choice, priority, arrived_at, queued_at, answered_at, ended_at,
     wait_seconds, talk_seconds, hold_seconds, wrap_up_seconds, outcome, recording_sid, recording_url, disposition,
     caller_hung_up, draft)
SELECT 'CA' || md5(%(schema)s || n), '+1212555' || lpad((n %% 10000)::text, 4, '0'), '+12125550111', 'en', '', 0,
       at, at + menu * interval '1 second',
       CASE WHEN abandoned THEN NULL ELSE at + (menu + 5) * interval '1 second' END,
       at + (menu + 5 + talk) * interval '1 second', 5,
       CASE WHEN abandoned THEN NULL ELSE talk END,
       CASE WHEN NOT abandoned AND n %% 5 = 0 THEN talk / 4 END,
       CASE WHEN abandoned THEN NULL ELSE n %% 61 END,
       CASE WHEN abandoned THEN 'abandoned' ELSE 'answered' END, '', '', '', false, '{{}}'::jsonb
FROM (SELECT n, timestamptz '2026-11-01 04:00:00+00' + (n * 2591999.0 / %(calls)s) * interval '1 second' AS at,
             5 + n %% 36 AS menu, 10 + (n * 7919) %% 591 AS talk, n %% 33 = 0 AS abandoned
      FROM generate_series(1, %(calls)s) AS n) AS calls
"""

AGGREGATE_SQL = """
SELECT count(*), sum(COALESCE(talk_seconds, 0) + COALESCE(wrap_up_seconds, 0))
FROM answering_callrecord
WHERE arrived_at >= %s AND arrived_at < %s AND answered_at IS NOT NULL AND outcome <> 'in_progress'
"""


# Five minutes of a busy client's traffic ``now`` (the month's last call so far): a dozen calls
# in the ten minutes before (one still in progress), the one left in progress last time now
# finished, and one call of the last hour with its wrap-up changed.
TRAFFIC_SQL = """
WITH finished AS (
    UPDATE answering_callrecord SET outcome = 'answered', talk_seconds = 95, wrap_up_seconds = 12,
                                    ended_at = answered_at + interval '95 seconds'
    WHERE outcome = 'in_progress'
), rewrapped AS (
    UPDATE answering_callrecord SET wrap_up_seconds = COALESCE(wrap_up_seconds, 0) + 1
    WHERE id = (SELECT id FROM answering_callrecord WHERE answered_at IS NOT NULL AND outcome = 'answered'
                  AND arrived_at >= %(now)s::timestamptz - interval '1 hour' AND arrived_at < %(now)s::timestamptz
                ORDER BY md5(id::text || %(round)s) LIMIT 1)
)
INSERT INTO answering_callrecord
    (call_sid, caller, number_dialed, language, menu_choice, priority, arrived_at, queued_at, answered_at, ended_at,
     wait_seconds, talk_seconds, hold_seconds, wrap_up_seconds, outcome, recording_sid, recording_url, disposition,
     caller_hung_up, draft)
SELECT 'CAtraffic' || %(round)s || '-' || n, '+12125559999', '+12125550111', 'en', '', 0,
       at, at + interval '9 seconds', at + interval '14 seconds', at + interval '74 seconds', 5,
       CASE WHEN n = 12 THEN NULL ELSE 60 END, NULL, CASE WHEN n = 12 THEN NULL ELSE 7 END,
       CASE WHEN n = 12 THEN 'in_progress' ELSE 'answered' END, '', '', '', false, '{}'::jsonb
FROM (SELECT n, %(now)s::timestamptz - interval '10 minutes' + (n * 47 %% 600) * interval '1 second' AS at
      FROM generate_series(1, 12) AS n) AS traffic
"""


def pct(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, max(0, round(p * len(ordered)) - 1))] * 1000


def _plan(name: str):
    from decimal import Decimal

    from billing.platform.models import BillingPlan, PlanTier

    # Every step of the rules at work: whole minutes plus a wrap-up minute, short calls free,
    # included minutes, a tier, IVR minutes and a base fee.
    plan, created = BillingPlan.objects.get_or_create(name=name, defaults=dict(
        increment_seconds=60, count_wrap_up=False, per_call_seconds=60, free_short_calls=30, short_call_seconds=30,
        included_minutes=5000, minute_rate=Decimal("1.20"), ivr_minute_rate=Decimal("0.10"), base_fee=Decimal("250")))
    if created:
        PlanTier.objects.create(plan=plan, above_minutes=20000, minute_rate=Decimal("0.95"))
    return plan


def bench_statement() -> None:
    with bench_database("switchboard_bench_billing"):
        from django.db import connection
        from django_tenants.utils import schema_context

        from answering.models import CallRecord
        from billing import selectors
        from billing.platform.models import PlanAssignment
        from billing.services import Period, statement_build
        from tenants import services

        client = services.client_provision(name="Bench Statement", slug="benchbill", time_zone="America/New_York")
        PlanAssignment.objects.create(client=client, plan=_plan("Bench"))
        calls = 100_000
        with connection.cursor() as cursor:
            cursor.execute(CALLS_SQL.format(schema="benchbill"), {"schema": "benchbill", "calls": calls})
            cursor.execute("ANALYZE benchbill.answering_callrecord")
        start, end = Period.parse("2026-11").bounds(client.time_zone)
        opened, plain, full, early = [], [], [], []

        def aggregate() -> tuple:
            began = time.perf_counter()
            with connection.cursor() as cursor:
                cursor.execute(AGGREGATE_SQL, [start, end])
                counted = cursor.fetchone()
            plain.append(time.perf_counter() - began)
            return counted

        with schema_context("benchbill"):
            now = CallRecord.objects.order_by("-arrived_at").values_list("arrived_at", flat=True)[0]
            statement_build(client=client, period="2026-11")  # warm-up: the draft from nothing
            for n in range(RUNS):
                with connection.cursor() as cursor:
                    cursor.execute(TRAFFIC_SQL, {"now": now, "round": n})
                began = time.perf_counter()
                # What the portal does on opening the current statement: bring the draft up to
                # date, then its first page of items (portal/billing.py, 100 a page).
                statement = statement_build(client=client, period="2026-11")
                page = selectors.statement_page(statement, per_page=100).get_page(1)
                rows = list(page)
                opened.append(time.perf_counter() - began)
                assert len(rows) == 100 and page.paginator.count == statement.item_count
                aggregate()
                progress(n + 1, RUNS, "statements opened after five minutes of traffic")
            for n in range(FULL_RUNS):
                began = time.perf_counter()
                statement_build(client=client, period="2026-11", full=True)
                full.append(time.perf_counter() - began)
                progress(n + 1, FULL_RUNS, "full builds")
            for n in range(FULL_RUNS):
                with connection.cursor() as cursor:
                    cursor.execute("UPDATE answering_callrecord SET wrap_up_seconds = wrap_up_seconds + 1 WHERE id = "
                                   "(SELECT id FROM answering_callrecord WHERE answered_at IS NOT NULL "
                                   "AND arrived_at >= %s ORDER BY arrived_at LIMIT 1 OFFSET %s)", [start, n])
                began = time.perf_counter()
                statement_build(client=client, period="2026-11")
                early.append(time.perf_counter() - began)
                progress(n + 1, FULL_RUNS, "rebuilds after a change on the 1st")
            counted = aggregate()
            statement = statement_build(client=client, period="2026-11")
            items = statement.items.count()
            assert statement.total == sum(i.amount for i in statement.items.all()) and items == statement.item_count
        print(f"A month's statement, {counted[0]:,} answered calls of {calls + 12 * RUNS:,}, {items:,} items, "
              f"total {statement.total} {statement.currency}:")
        print(f"  opening it (draft brought up to date after 5 min of traffic, first page)  "
              f"p50 {pct(opened, .5):.0f} ms  p99 {pct(opened, .99):.0f} ms  "
              f"(mean {statistics.mean(opened) * 1000:.0f} ms, n={RUNS})")
        print(f"  plain aggregate  p50 {pct(plain, .5):.1f} ms  p99 {pct(plain, .99):.1f} ms  (same rows, same run)")
        print(f"  target p99 < 1000 ms: {'met' if pct(opened, .99) < 1000 else 'MISSED'}")
        print(f"  not the target: built from nothing (full=True)  p50 {pct(full, .5):.0f} ms  "
              f"p99 {pct(full, .99):.0f} ms (n={FULL_RUNS}); after a change to a call on the 1st  "
              f"p50 {pct(early, .5):.0f} ms  p99 {pct(early, .99):.0f} ms (n={FULL_RUNS})")


@contextmanager
def _run_database():
    """The run's database, made once and (with BENCH_KEEP=1) kept: provisioning 500 schemas is
    the slow part, and it is not what is measured."""
    import psycopg

    base = os.environ["DATABASE_URL"]
    admin_url = _with_database(base, "postgres").replace("postgres://", "postgresql://", 1)
    with psycopg.connect(admin_url, autocommit=True) as conn:
        exists = conn.execute("SELECT 1 FROM pg_database WHERE datname = %s", [RUN_DATABASE]).fetchone()
        if not (KEEP and exists):
            conn.execute(f'DROP DATABASE IF EXISTS "{RUN_DATABASE}" WITH (FORCE)')
            conn.execute(f'CREATE DATABASE "{RUN_DATABASE}"')
    os.environ["DATABASE_URL"] = _with_database(base, RUN_DATABASE)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "switchboard.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connections

    call_command("setup_platform", verbosity=0)
    try:
        yield
    finally:
        connections.close_all()
        if KEEP:
            print(f"  (database {RUN_DATABASE} kept for the next run: BENCH_KEEP=1)")
        else:
            with psycopg.connect(admin_url, autocommit=True) as conn:
                conn.execute(f'DROP DATABASE IF EXISTS "{RUN_DATABASE}" WITH (FORCE)')


def bench_run() -> None:
    with _run_database():
        _bench_run()


def _bench_run() -> None:
    from django.db import connection

    from billing.platform.models import PlanAssignment
    from billing.services import billing_run
    from tenants import services
    from tenants.models import Client

    plan = _plan("Bench run")
    have = set(Client.objects.filter(schema_name__startswith="benchrun").values_list("schema_name", flat=True))
    began = time.perf_counter()
    for n in range(CLIENTS):
        slug = f"benchrun{n:03d}"
        if slug in have:
            continue
        client = services.client_provision(name=f"Bench Run {n:03d}", slug=slug, time_zone="America/New_York")
        PlanAssignment.objects.create(client=client, plan=plan)
        with connection.cursor() as cursor:
            cursor.execute(CALLS_SQL.format(schema=slug), {"schema": slug, "calls": 2000})
        progress(n + 1, CLIENTS, "provisioning clients with 2,000 calls")
    if len(have) < CLIENTS:
        print(f"  set-up: {time.perf_counter() - began:.0f} s (not measured)")
    with connection.cursor() as cursor:
        cursor.execute("ANALYZE")
    clients = list(Client.objects.filter(schema_name__startswith="benchrun").order_by("schema_name")[:CLIENTS])
    began = time.perf_counter()
    results = billing_run("2026-11", clients, progress=lambda done, total, result: progress(done, total, "billing"))
    took = time.perf_counter() - began
    built = [r for r in results if r["status"] == "built"]
    print(f"The billing run, {len(clients)} clients × 2,000 calls: {took:.1f} s "
          f"({took / max(len(clients), 1) * 1000:.0f} ms a client), {len(built)} built, "
          f"{sum(r['items'] for r in built):,} items; target < 60 s: {'met' if took < 60 else 'MISSED'}")
    failed = [r for r in results if r["status"] != "built"]
    if failed:
        print(f"  {len(failed)} not built, e.g. {failed[0]}", file=sys.stderr)


def main() -> None:
    if PART == "statement":
        bench_statement()
    elif PART == "run":
        bench_run()
    else:
        # Each part in a process of its own: Django is set up once per process, on one database.
        import subprocess

        for part in ("statement", "run"):
            subprocess.run([sys.executable, __file__], env={**os.environ, "BENCH_PART": part}, check=True)


if __name__ == "__main__":
    main()
