"""A month's report for one client with 100,000 calls (and 40,000 messages, 20,000 outbound
attempts, 3,000 appointments): ``reports.figures.report_build`` grouped by day, by hour, by
agent and by campaign, p50 / p99 — against a plain aggregate query over the same rows in the
same run (``COUNT(*)``, ``AVG(wait_seconds)`` of the month's calls), the floor any report
pays to read them. Target: the report under 300 ms (p99, by day).

Each grouping is measured twice: with the month's closed days kept (``reports.cache``: the
warm-up runs keep them, as the first report of a month does) and counted from the records
alone (the kept days dropped before each run, untimed) — what the first report of a month, or
one after every day changed, costs.

Run with services up: `python tests/bench/bench_reports.py` (BENCH_RUNS=50 by default).
"""

from __future__ import annotations

import datetime as dt
import os
import statistics
import time

from _django import bench_database, progress

RUNS = int(os.getenv("BENCH_RUNS", "50"))
CALLS = int(os.getenv("BENCH_CALLS", "100000"))
ZONE = "America/New_York"


def pct(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, max(0, round(p * len(ordered)) - 1))] * 1000


def _fill(cursor, *, start: dt.datetime, agents: list[int], campaign: int, calendar: int, type_: int) -> None:
    """The month's rows, written by PostgreSQL itself (generate_series): a call every ~26 s
    over 30 days, outcomes, waits and talk drawn from random()."""
    seconds = 30 * 86400
    cursor.execute("""
        INSERT INTO answering_callrecord (call_sid, caller, number_dialed, language, menu_choice, priority, arrived_at,
            queued_at, answered_at, ended_at, wait_seconds, talk_seconds, wrap_up_seconds, agent_id, outcome,
            recording_sid, recording_url, disposition, caller_hung_up, draft)
        SELECT 'CAbench' || n, '+12125550100', '+12125550111', 'en', 'open:1', 0, at,
            CASE WHEN kind < 0.93 THEN at END, CASE WHEN kind < 0.80 THEN at + wait * interval '1 s' END,
            at + (wait + talk) * interval '1 s', CASE WHEN kind < 0.93 THEN wait END,
            CASE WHEN kind < 0.80 THEN talk END, CASE WHEN kind < 0.80 THEN 30 END,
            CASE WHEN kind < 0.80 THEN (%(agents)s)[1 + (n %% array_length(%(agents)s, 1))] END,
            CASE WHEN kind < 0.80 THEN 'answered' WHEN kind < 0.90 THEN 'abandoned' WHEN kind < 0.93 THEN 'voicemail'
                 ELSE 'information' END, '', '', '', false, '{}'
        FROM (SELECT n, %(start)s::timestamptz + (random() * %(seconds)s) * interval '1 s' AS at, random() AS kind,
                     (random() * 60)::int AS wait, (30 + random() * 300)::int AS talk
              FROM generate_series(1, %(calls)s) AS n) AS calls""",
                   {"agents": agents, "start": start, "seconds": seconds, "calls": CALLS})
    cursor.execute("""
        INSERT INTO answering_message (caller, callback_number, caller_name, fields, urgency, category, end_action,
            language, call_sid, agent_id, source, recording_sid, escalation, next_round, next_position, short_code,
            acknowledged_at, acknowledged_by, acknowledged_via, created, updated)
        SELECT '+12125550100', '+12125550100', 'Bench', '{}', 'normal', 'Service',
            CASE WHEN random() < 0.1 THEN 'dispatch' ELSE 'message' END, 'en', 'CAbenchmsg' || n, NULL, 'call', '',
            'acknowledged', 1, 1, '', at + (random() * 3600) * interval '1 s', 'bench', 'portal', at, at
        FROM (SELECT n, %(start)s::timestamptz + (random() * %(seconds)s) * interval '1 s' AS at
              FROM generate_series(1, %(n)s) AS n) AS m""", {"start": start, "seconds": seconds, "n": CALLS * 2 // 5})
    cursor.execute("""
        INSERT INTO campaigns_callattempt (campaign_id, number, caller_id, channel, purpose, subject, mode, agent_id,
            started_at, ended_at, outcome, answered_by, twilio_status, last_sequence, twilio_sid, amount, notes,
            answers, detail)
        SELECT %(campaign)s, '+1212555' || lpad((n %% 10000)::text, 4, '0'), '', 'autodialed', 'informational', '',
            'predictive', CASE WHEN kind < 0.3 THEN (%(agents)s)[1 + (n %% array_length(%(agents)s, 1))] END,
            at, at + interval '90 s',
            CASE WHEN kind < 0.3 THEN 'live_answered' WHEN kind < 0.31 THEN 'abandoned' WHEN kind < 0.5 THEN 'machine'
                 ELSE 'no_answer' END, '', '', -1, '', CASE WHEN kind < 0.05 THEN 100 END, '', '{}', ''
        FROM (SELECT n, %(start)s::timestamptz + (random() * %(seconds)s) * interval '1 s' AS at, random() AS kind
              FROM generate_series(1, %(n)s) AS n) AS a""",
                   {"campaign": campaign, "agents": agents, "start": start, "seconds": seconds, "n": CALLS // 5})
    cursor.execute("""
        INSERT INTO calendars_appointment (calendar_id, type_id, start, "end", blocked, status, held_by, name, phone,
            email, answers, call_sid, booked_by, created, updated, confirmed_at)
        SELECT %(calendar)s, %(type)s, s, s + interval '1 h', tstzrange(s, s + interval '1 h'),
            CASE WHEN n %% 10 = 0 THEN 'no_show' ELSE 'done' END, '', 'Bench', '', '', '{}', '', 'bench', s, s,
            CASE WHEN n %% 3 = 0 THEN s - interval '1 day' END
        FROM (SELECT n, %(start)s::timestamptz + n * interval '1 h' AS s FROM generate_series(1, 700) AS n) AS x""",
                   {"calendar": calendar, "type": type_, "start": start})
    cursor.execute("""
        INSERT INTO calendars_appointmentevent (appointment_id, at, kind, by, detail, data)
        SELECT id, start - interval '2 days', 'booked', 'bench', '', '{}' FROM calendars_appointment""")
    cursor.execute("ANALYZE")


def main() -> None:
    with bench_database("switchboard_bench_reports"):
        from django.db import connection
        from django_tenants.utils import schema_context

        from calendars.models import AppointmentType, Calendar
        from campaigns.services.lifecycle import campaign_create
        from compliance.rules import Purpose
        from reports.figures import Period, report_build
        from tenants import services
        from tenants.models import Role

        services.client_provision(name="Bench Answering", slug="benchreports", time_zone=ZONE)
        agents = [services.user_create(email=f"agent{n}@bench.test", role=Role.AGENT, password="x" * 12,
                                       full_name=f"Agent {n}").pk for n in range(20)]
        period = Period(dt.date(2026, 10, 1), dt.date(2026, 10, 31), ZONE)
        with schema_context("benchreports"):
            campaign = campaign_create(name="Bench campaign", purpose=Purpose.INFORMATIONAL)
            calendar = Calendar.objects.create(name="Bench calendar")
            type_ = AppointmentType.objects.create(name="Bench visit")
            started = time.perf_counter()
            with connection.cursor() as cursor:
                _fill(cursor, start=period.starts_at, agents=agents, campaign=campaign.pk, calendar=calendar.pk,
                      type_=type_.pk)
            print(f"filled {CALLS} calls, {CALLS * 2 // 5} messages, {CALLS // 5} attempts in "
                  f"{time.perf_counter() - started:.1f} s")

            def plain() -> tuple:
                with connection.cursor() as cursor:
                    cursor.execute("SELECT COUNT(*), AVG(wait_seconds) FROM answering_callrecord "
                                   "WHERE arrived_at >= %s AND arrived_at < %s", [period.starts_at, period.ends_at])
                    return cursor.fetchone()

            from reports.models import DayCounts

            results = {}
            for by, kept in [(by, kept) for kept in (True, False) for by in ("day", "hour", "agent", "campaign")]:
                samples, baseline = [], []
                for n in range(RUNS + 3):
                    if not kept:
                        DayCounts.objects.all().delete()
                    t0 = time.perf_counter()
                    report = report_build(period, by, campaigns_now=True)
                    t1 = time.perf_counter()
                    count, _ = plain()
                    t2 = time.perf_counter()
                    if n >= 3:  # warm-up
                        samples.append(t1 - t0)
                        baseline.append(t2 - t1)
                    progress(n + 1, RUNS + 3, f"by {by}{'' if kept else ', counted'}")
                assert report.total.figures["calls"] == count == CALLS, (report.total.figures["calls"], count)
                results[by, kept] = (samples, baseline, len(report.rows))
    print()
    for (by, kept), (samples, baseline, rows) in results.items():
        p99 = pct(samples, 0.99)
        how = "closed days kept" if kept else "counted from the records"
        print(f"a month's report, {CALLS:,} calls, by {by} ({rows} rows), {how}: "
              f"p50 {statistics.median(samples) * 1000:.0f} ms, "
              f"p99 {p99:.0f} ms ({RUNS} runs; target p99 < 300 ms: {'met' if p99 < 300 else 'MISSED'}); "
              f"plain COUNT/AVG over the same calls: p50 {statistics.median(baseline) * 1000:.1f} ms, "
              f"p99 {pct(baseline, 0.99):.1f} ms")


if __name__ == "__main__":
    main()
