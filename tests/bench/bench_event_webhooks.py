"""From an event's commit to its first webhook POST arriving at the receiver, over 500 events,
with a real Celery worker and a local receiver.

Run with `make bench` (or `python tests/bench/bench_event_webhooks.py` with services up). On a
throwaway database: one client with one endpoint (every event) pointed at a receiver thread in
this process, which stamps when each request arrives (by its webhook-id); one `celery worker`
process (prefork, concurrency 1). Each event is committed with ``event_emit`` inside its
transaction, exactly as the apps do; the fast path (a task on commit) carries it. Events are
committed at BENCH_RATE per second (default 10) so the figure is the pipeline's latency, not a
backlog's. Target: p99 < 1 s.
The baseline, same run: the same commit followed by the send run inline in this process (no
broker, no worker) — the cost of the work itself, signing and HTTP included.
"""

from __future__ import annotations

import os
import subprocess
import sys
import threading
import time
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

from _django import ROOT, bench_database, progress

EVENTS = int(os.getenv("BENCH_EVENTS", "500"))
BASELINE = int(os.getenv("BENCH_BASELINE_EVENTS", "100"))
RATE = float(os.getenv("BENCH_RATE", "10"))
QUEUE = "bench-event-webhooks"


def _p(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[min(len(ordered) - 1, max(0, int(round(len(ordered) * q)) - 1))] * 1000


def _line(label: str, samples: list[float]) -> str:
    return f"{label}: n={len(samples)} p50={_p(samples, 0.5):.0f} ms p99={_p(samples, 0.99):.0f} ms " \
           f"max={max(samples) * 1000:.0f} ms"


def _receiver() -> tuple[str, dict[str, float], ThreadingHTTPServer]:
    arrived: dict[str, float] = {}

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self):  # noqa: N802 (http.server's name)
            at = time.time()
            self.rfile.read(int(self.headers["Content-Length"]))
            arrived.setdefault(self.headers["webhook-id"], at)
            self.send_response(204)
            self.end_headers()

        def log_message(self, *args):
            pass

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    return f"http://127.0.0.1:{server.server_port}/hooks", arrived, server


def main() -> None:
    os.environ["CELERY_QUEUE"] = QUEUE
    os.environ["OUTBOUND_ALLOW_PRIVATE"] = "1"  # the receiver is on 127.0.0.1
    with bench_database("switchboard_bench_event_webhooks"):
        from unittest import mock

        from django.db import transaction
        from django_tenants.utils import schema_context

        from tenants import services as tenant_services
        from webhooks import sending, services

        client = tenant_services.client_provision(name="Bench Hooks", slug="benchhooks", time_zone="America/New_York")
        url, arrived, server = _receiver()
        with schema_context("benchhooks"):
            services.endpoint_create(url=url, description="bench")

        def commit_one(i: int) -> tuple[str, float]:
            with schema_context("benchhooks"):
                with transaction.atomic():
                    event = services.event_emit("message.created", {"id": i, "fields": {"problem": f"bench {i}"}})
                return event.event_id, time.time()  # the commit has returned: hooks ran (the task is queued)

        baseline = []
        with mock.patch.object(services, "deliver_soon", lambda *args, **kwargs: None):
            for i in range(BASELINE):
                event_id, committed = commit_one(i)
                with schema_context("benchhooks"):
                    from webhooks.models import WebhookDelivery

                    pk = WebhookDelivery.objects.get(message__event_id=event_id).pk
                    sending.webhook_deliver(delivery_id=pk, client=client)
                baseline.append(arrived[event_id] - committed)
                progress(i + 1, BASELINE, "inline  ")

        log = open(ROOT / "var" / "bench-event-webhooks-worker.log", "wb")
        worker = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "switchboard", "worker", "-Q", QUEUE, "--concurrency", "1",
             "--loglevel", os.getenv("BENCH_WORKER_LOGLEVEL", "WARNING"), "--hostname", "bench-hooks@%h",
             "--without-gossip", "--without-mingle"],
            cwd=ROOT, env={**os.environ}, stdout=log, stderr=subprocess.STDOUT)
        try:
            # Warm-up: events until one arrives — the figure is the pipeline's, not the worker's start-up.
            deadline = time.monotonic() + 120
            while time.monotonic() < deadline:
                warm, _ = commit_one(-1)
                time.sleep(1)
                if warm in arrived:
                    break
            time.sleep(1)
            committed_at = {}
            started = time.monotonic()
            for i in range(EVENTS):
                event_id, at = commit_one(BASELINE + i)
                committed_at[event_id] = at
                progress(i + 1, EVENTS, "worker  ")
                pause = started + (i + 1) / RATE - time.monotonic()
                if pause > 0:
                    time.sleep(pause)
            deadline = time.monotonic() + 60
            while not all(e in arrived for e in committed_at) and time.monotonic() < deadline:
                time.sleep(0.05)
        finally:
            worker.terminate()
            worker.wait(timeout=20)
            server.shutdown()
        latencies = [arrived[e] - at for e, at in committed_at.items() if e in arrived]
        missing = EVENTS - len(latencies)
    print(_line("commit → webhook POST at the receiver (1 worker)", latencies)
          + (f"  ({missing} never sent!)" if missing else ""))
    print(_line("baseline: commit → send inline, no worker", baseline))
    slow = [(i, round(x * 1000)) for i, x in enumerate(latencies) if x > 0.25]
    print(f"over 250 ms: {len(slow)} (event index, ms): {slow[:20]}")
    print(f"target p99 < 1000 ms: {'met' if not missing and _p(latencies, 0.99) < 1000 else 'MISSED'}")


if __name__ == "__main__":
    main()
