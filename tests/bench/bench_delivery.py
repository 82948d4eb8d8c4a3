"""From a message's commit to its first delivery attempt leaving (the SMS handed to the gateway),
over 500 messages with one Celery worker.

Run with `make bench` (or `python tests/bench/bench_delivery.py` with services up). On a
throwaway database: one client whose rule texts whoever is on call; one `celery worker`
process (prefork, concurrency 1, the production command otherwise) plus nothing else. Each
message is committed with its outbox rows exactly as `message_take` does; the simulated
gateway stamps the moment it is handed the text. Messages are committed at BENCH_RATE per
second (default 10: far above any answering service's message rate) so the figure is the
pipeline's latency, not a backlog's. Target: p99 < 1 s.
The baseline, same run: the same commit followed by the send run inline in this process
(no broker, no worker) — the cost of the work itself.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time

from _django import ROOT, bench_database, progress

MESSAGES = int(os.getenv("BENCH_MESSAGES", "500"))
BASELINE = int(os.getenv("BENCH_BASELINE_MESSAGES", "100"))
RATE = float(os.getenv("BENCH_RATE", "10"))
QUEUE = "bench-delivery"


def _p(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, max(0, int(round(len(ordered) * q)) - 1))] * 1000


def _line(label: str, samples: list[float]) -> str:
    return f"{label}: n={len(samples)} p50={_p(samples, 0.5):.0f} ms p99={_p(samples, 0.99):.0f} ms " \
           f"max={max(samples) * 1000:.0f} ms"


def main() -> None:
    os.environ["CELERY_QUEUE"] = QUEUE
    os.environ["TWILIO_MODE"] = "simulate"
    with bench_database("switchboard_bench_delivery"):
        import redis
        from django.conf import settings
        from django.db import transaction
        from django_tenants.utils import schema_context

        from answering.messages import delivery
        from answering.models import DeliveryRule, EscalationPolicy, EscalationStep, Message, Person
        from answering.twilio.gateway import SIM_OUTBOX
        from tenants import services

        client = services.client_provision(name="Bench Heating", slug="benchheat", time_zone="America/New_York",
                                           numbers=[services.NumberSpec("+12125550180")])
        with schema_context("benchheat"):
            tech = Person.objects.create(name="Bench Tech", mobile="+12125550181")
            policy = EscalationPolicy.objects.create(name="Text the tech", needs_acknowledgement=False, repeat=1)
            EscalationStep.objects.create(policy=policy, position=1, channel="sms", target="person", person=tech)
            DeliveryRule.objects.create(policy=policy)
        r = redis.Redis.from_url(settings.REDIS_URL)
        outbox = SIM_OUTBOX.format(kind="sms")
        r.delete(outbox)

        def commit_one(i: int) -> tuple[float, int]:
            with schema_context("benchheat"):
                with transaction.atomic():
                    message = Message.objects.create(caller=f"+1212555{i % 10000:04d}", urgency="normal",
                                                     fields={"problem": f"bench {i}"})
                    delivery.message_deliver(message=message, client=client)
                return time.time(), message.pk  # the commit has returned: hooks ran (the task is queued)

        def handed_over(count: int, timeout: float = 120) -> list[dict]:
            deadline = time.monotonic() + timeout
            while r.llen(outbox) < count and time.monotonic() < deadline:
                time.sleep(0.05)
            return [json.loads(raw) for raw in r.lrange(outbox, 0, -1)]

        # Baseline: commit, then the send inline (no broker, no worker).
        baseline = []
        from unittest import mock

        with mock.patch.object(delivery, "send_soon", lambda schema, pk, countdown=0: None):
            for i in range(BASELINE):
                committed, pk = commit_one(i)
                with schema_context("benchheat"):
                    attempt = Message.objects.get(pk=pk).deliveries.get()
                    delivery.delivery_send(delivery_id=attempt.pk, client=client)
                baseline.append(json.loads(r.lindex(outbox, -1))["at"] - committed)
                progress(i + 1, BASELINE, "inline  ")
        r.delete(outbox)

        log = open(ROOT / "var" / "bench-delivery-worker.log", "wb")
        worker = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "switchboard", "worker", "-Q", QUEUE, "--concurrency", "1",
             "--loglevel", os.getenv("BENCH_WORKER_LOGLEVEL", "WARNING"), "--hostname", "bench-delivery@%h", "--without-gossip", "--without-mingle"],
            cwd=ROOT, env={**os.environ}, stdout=log, stderr=subprocess.STDOUT)
        try:
            time.sleep(4)  # the worker connects and waits; the first messages are not its start-up
            committed_at = {}
            started = time.monotonic()
            for i in range(MESSAGES):
                at, pk = commit_one(i)
                committed_at[f"bench {i}"] = at
                progress(i + 1, MESSAGES, "worker  ")
                pause = started + (i + 1) / RATE - time.monotonic()
                if pause > 0:
                    time.sleep(pause)
            texts = handed_over(MESSAGES)
        finally:
            worker.terminate()
            worker.wait(timeout=20)
        latencies = []
        for text in texts:
            problem = text["body"].split("Problem: ", 1)[1].split(".")[0].strip() if "Problem: " in text["body"] else ""
            if problem in committed_at:
                latencies.append(text["at"] - committed_at[problem])
        missing = MESSAGES - len(latencies)
    print(_line("commit → SMS handed to the gateway (1 worker)", latencies)
          + (f"  ({missing} never sent!)" if missing else ""))
    print(_line("baseline: commit → send inline, no worker", baseline))
    print(f"target p99 < 1000 ms: {'met' if not missing and _p(latencies, 0.99) < 1000 else 'MISSED'}")


if __name__ == "__main__":
    main()
