"""One dialer tick of a campaign with 50 agents and a 100,000-contact list: p50 / p99.

Run with services up: `python tests/bench/bench_dialer_tick.py` (or `make bench`). A tick is
what the beat runs every second per campaign: count the agents, the campaign's figures, the
pacing, pick the batch (FOR UPDATE SKIP LOCKED, in each contact's window), ask the gate for
each contact (with its ledger write), write the pending attempts, commit, hand each call to
the (simulated) gateway. Measured for a batch of 1 (Twilio's default 1 call per second), 10
and 50 (every agent freed at once, an account with a raised limit). Between ticks the
attempts are settled (no answer, retried tomorrow), outside the timing, so every tick
dials a fresh batch.

The baseline, same run, same database: a bare `SELECT` of the same batch of contacts.
Target: p99 under 100 ms.
"""

from __future__ import annotations

import datetime as dt
import os
import statistics
import time
import zoneinfo

from _django import bench_database, progress

CONTACTS = int(os.getenv("BENCH_CONTACTS", "100000"))
AGENTS = 50
TICKS = int(os.getenv("BENCH_TICKS", "60"))
PROFILE = os.getenv("BENCH_PROFILE")  # e.g. BENCH_PROFILE=1: where a tick's time goes


def pct(samples: list[float], p: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, max(0, round(p * len(ordered)) - 1))] * 1000


def main() -> None:
    os.environ.setdefault("TWILIO_MODE", "simulate")
    with bench_database("switchboard_bench_dialer"):
        from django.conf import settings
        from django.db import connection
        from django.utils import timezone
        from django_tenants.utils import schema_context

        from answering.acd.models import AgentPresence, DialerCampaign
        from campaigns import pacing
        from campaigns.models import CallAttempt, Campaign, Contact, ContactList
        from campaigns.services import dialer, lifecycle
        from compliance.models import Consent
        from switchboard.redis_clients import redis_client
        from tenants import services
        from tenants.models import AgentProfile, User

        settings.DIALER_CALLS_PER_SECOND = 100_000  # the budget is not what is measured here
        client = services.client_provision(name="Bench dialer", slug="benchdialer", time_zone="America/New_York",
                                           numbers=[services.NumberSpec("+12125550100")])
        now = dt.datetime(2026, 6, 2, 14, 0, tzinfo=zoneinfo.ZoneInfo("America/New_York"))
        agents = []
        for n in range(AGENTS):
            user = User.objects.create_user(email=f"agent{n}@bench.test", password=None, role="agent")
            services.agent_skills_set(user=user, clients=[client], languages=["en"], mode=AgentProfile.Mode.OUTBOUND)
            agents.append(user)
        with schema_context(client.schema_name):
            campaign = lifecycle.campaign_create(name="Bench", purpose="informational", mode=Campaign.Mode.PROGRESSIVE,
                                                 window_start=dt.time(9), window_end=dt.time(20),
                                                 days=[0, 1, 2, 3, 4, 5, 6])
            people = ContactList.objects.create(campaign=campaign, name="Big list")
            sys_write = progress
            batch = []
            numbers = [f"+1212{2_000_000 + i * 7:07d}" for i in range(CONTACTS)]
            for i, number in enumerate(numbers, start=1):
                batch.append(Contact(campaign=campaign, list=people, number=number, time_zone="America/New_York"))
                if len(batch) == 5000:
                    Contact.objects.bulk_create(batch)
                    Consent.objects.bulk_create([Consent(number=c.number, kind="express", source="import",
                                                         obtained_at=now - dt.timedelta(days=5)) for c in batch])
                    batch = []
                    sys_write(i, CONTACTS, "contacts")
            with connection.cursor() as cursor:
                cursor.execute("ANALYZE")
            lifecycle.campaign_start(campaign=campaign, by="bench")
        row = DialerCampaign.objects.get(campaign_id=campaign.pk, client=client)

        def settle() -> None:
            # Outside the timing: every call placed rang out, and its agent is free again.
            with schema_context(client.schema_name):
                CallAttempt.objects.filter(outcome="pending").update(outcome="no_answer", ended_at=now)
                Contact.objects.filter(status="in_flight").update(status="retry",
                                                                  next_attempt_at=now + dt.timedelta(days=1))

        def presence(ready: int) -> None:
            AgentPresence.objects.filter(agent__in=agents).delete()
            AgentPresence.objects.bulk_create([
                AgentPresence(agent=a, status="available" if i < ready else "on_call", mode="outbound",
                              idle_since=timezone.now()) for i, a in enumerate(agents)])

        import cProfile
        import logging
        import pstats

        logging.getLogger("answering.twilio.gateway").setLevel(logging.WARNING)  # a line per call is not the tick
        profiler = cProfile.Profile()
        results = {}
        for size in (1, 10, 50):
            presence(size)
            samples, base = [], []
            for t in range(TICKS + 5):
                redis_client(timeout=5).delete("sim:outbox:dial", "sim:dialed")
                if PROFILE and t == 5:
                    profiler.enable()
                started = time.perf_counter()
                result = dialer.campaign_tick(row, now=now)
                elapsed = time.perf_counter() - started
                if PROFILE and t == TICKS + 4:
                    profiler.disable()
                assert result.placed == size, (size, result)
                if t >= 5:
                    samples.append(elapsed)
                    # The baseline: a bare SELECT of the same batch of contacts.
                    with schema_context(client.schema_name), connection.cursor() as cursor:
                        started = time.perf_counter()
                        cursor.execute(f"SELECT id, number FROM {Contact._meta.db_table} WHERE campaign_id = %s "
                                       f"AND status = 'new' ORDER BY id LIMIT %s", [campaign.pk, size])
                        cursor.fetchall()
                        base.append(time.perf_counter() - started)
                settle()
                progress(t + 1, TICKS + 5, f"ticks of {size}")
            results[size] = (samples, base)
        print(f"\nDialer tick, {AGENTS} agents, {CONTACTS:,} contacts, {TICKS} ticks per batch size "
              f"(pacing: {pacing.__name__}.pace; gate + ledger per contact; simulated gateway)")
        print(f"{'batch':>6} {'tick p50':>10} {'tick p99':>10} {'per call p50':>13} {'SELECT p50':>11} {'SELECT p99':>11}")
        ok = True
        for size, (samples, base) in results.items():
            p99 = pct(samples, 0.99)
            ok = ok and p99 < 100
            print(f"{size:>6} {statistics.median(samples) * 1000:>8.1f}ms {p99:>8.1f}ms "
                  f"{statistics.median(samples) * 1000 / size:>11.2f}ms {statistics.median(base) * 1000:>9.2f}ms "
                  f"{pct(base, 0.99):>9.2f}ms")
        print("target p99 < 100 ms:", "PASS" if ok else "FAIL")
        if PROFILE:
            pstats.Stats(profiler).sort_stats("cumulative").print_stats(40)


if __name__ == "__main__":
    main()
