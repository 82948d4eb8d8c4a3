"""GET /api/v1/messages?limit=50 with a key, 20 concurrent, on production's HTTP server.

Run with `make bench` (or `python tests/bench/bench_api_messages.py`). The server is started the
way production serves HTTP: `gunicorn switchboard.wsgi --workers 4` (sync workers), DEBUG=0
(`BENCH_SERVER=asgi`: uvicorn, for comparison). The client has 2 000 messages; each request
authenticates its key (a lookup and a constant-time hash compare), counts itself against the
key's and the client's rate limits in Redis, computes the list's ETag and serialises a page of 50.
The baseline, measured in the same run against the same server on the same client host:
GET /ping behind the same middleware, in blocks taking turns with the API's (the machine is
shared; its speed drifts). Targets: at least half the baseline's throughput, p99 under 100 ms.

``BENCH_BASELINE_TREE=<dir>`` (a copy of the repository with the previous code) starts a second
server from that tree, on the same database, and its API blocks take turns with this code's:
a change measured against the code before it in the same run.
"""

from __future__ import annotations

import asyncio
import os
import statistics
import sys
import time

from _django import ROOT, bench_database, free_port, http_server, progress

REQUESTS = int(os.getenv("BENCH_REQUESTS", "4000"))
BLOCK = int(os.getenv("BENCH_BLOCK", "500"))
CONCURRENCY = int(os.getenv("BENCH_CONCURRENCY", "20"))
HOST = "benchapi.localhost"
MESSAGES = 2000
API_LABEL = "GET /api/v1/messages?limit=50"
BEFORE_LABEL = "the code before, same request"


async def _load(port: int, path: str, headers: dict, count: int) -> tuple[float, list[float]]:
    import aiohttp

    latencies: list[float] = []
    left = iter(range(count))
    async with aiohttp.ClientSession(connector=aiohttp.TCPConnector(limit=CONCURRENCY)) as session:
        async def worker():
            for _ in left:
                started = time.perf_counter()
                async with session.get(f"http://127.0.0.1:{port}{path}", headers=headers) as reply:
                    await reply.read()
                    if reply.status != 200:
                        raise RuntimeError(f"{path} answered {reply.status}: {(await reply.text())[:300]}")
                latencies.append(time.perf_counter() - started)

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(CONCURRENCY)))
        return time.perf_counter() - started, latencies


def _figures(blocks: list[tuple[float, list[float]]]) -> dict:
    ordered = sorted(latency for _, latencies in blocks for latency in latencies)
    return {"rps": len(ordered) / sum(elapsed for elapsed, _ in blocks), "p50": statistics.median(ordered) * 1000,
            "p99": ordered[max(0, int(len(ordered) * 0.99) - 1)] * 1000}


def _wait_for(port: int, timeout: float = 60) -> None:
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(urllib.request.Request(f"http://127.0.0.1:{port}/ping", headers={"Host": HOST}),
                                   timeout=1)
            return
        except Exception:
            time.sleep(0.2)
    raise RuntimeError(f"no server on port {port} within {timeout:.0f} s")


def main() -> None:
    import subprocess

    with bench_database("switchboard_bench_api"):
        from django.db import connections
        from django.utils import timezone
        from django_tenants.utils import schema_context

        from answering.models import Message
        from api.services.keys import api_key_create
        from tenants import services

        client = services.client_provision(name="Bench API", slug="benchapi", time_zone="America/New_York",
                                           domain=HOST)
        with schema_context("benchapi"):
            now = timezone.now()
            Message.objects.bulk_create(
                Message(caller=f"+1212555{n:04d}", callback_number=f"+1212555{n:04d}", caller_name=f"Caller {n}",
                        urgency="urgent" if n % 5 == 0 else "normal", category="service",
                        fields={"problem": "No heat", "address": f"{n} Elm St"}, created=now)
                for n in range(MESSAGES))
        _, plain = api_key_create(client=client, name="bench", scopes=["messages:read"], expires_at=None, by="bench")
        database_url = os.environ["DATABASE_URL"]
        connections.close_all()

        port = free_port()
        env = {**os.environ, "DATABASE_URL": database_url, "DEBUG": "0", "SECRET_KEY": "bench-secret",
               "LOG_LEVEL": "WARNING", "SWITCHBOARD_TESTING": "0", "DB_CONN_MAX_AGE": "60",
               # The figure is the API's own cost: limits high enough never to refuse the benchmark.
               "API_RATE_PER_KEY_PER_MINUTE": "10000000", "API_RATE_PER_CLIENT_PER_MINUTE": "10000000"}
        workers = os.getenv("BENCH_WORKERS", "4")
        process = subprocess.Popen(http_server(port, workers=workers), env=env, cwd=ROOT, stdout=subprocess.DEVNULL,
                                   stderr=sys.stderr)
        processes = [process]
        tree = os.getenv("BENCH_BASELINE_TREE", "")
        if tree:  # the previous code's server, for the A/B (its blocks take turns with ours)
            before_port = free_port()
            processes.append(subprocess.Popen(http_server(before_port, workers=workers), cwd=tree,
                                              env={**env, "PYTHONPATH": tree}, stdout=subprocess.DEVNULL,
                                              stderr=sys.stderr))
        print(f"  server: {os.getenv('BENCH_SERVER', 'wsgi')} with {workers} workers, {MESSAGES} messages, "
              f"{REQUESTS} requests each at {CONCURRENCY} concurrent, in blocks of {BLOCK} taking turns"
              + (f"; the code before from {tree}" if tree else ""), file=sys.stderr)
        try:
            api = ("/api/v1/messages?limit=50", {"Host": HOST, "Authorization": f"Bearer {plain}"})
            ping = ("/ping", {"Host": HOST})
            runs = {"baseline /ping": (port, ping), API_LABEL: (port, api)}
            if tree:
                runs[BEFORE_LABEL] = (before_port, api)
            for each_port, (path, headers) in runs.values():  # warm every worker
                _wait_for(each_port)
                asyncio.run(_load(each_port, path, headers, 400))
            blocks: dict[str, list] = {label: [] for label in runs}
            done = 0
            for number in range(0, REQUESTS, BLOCK):
                for label, (each_port, (path, headers)) in runs.items():
                    blocks[label].append(asyncio.run(_load(each_port, path, headers,
                                                           min(BLOCK, REQUESTS - number))))
                done += min(BLOCK, REQUESTS - number)
                progress(done, REQUESTS, "blocks")
        finally:
            for each in processes:
                each.terminate()
            for each in processes:
                each.wait(timeout=20)
    figures = {label: _figures(b) for label, b in blocks.items()}
    for label, f in figures.items():
        print(f"  {label:<32} {f['rps']:7.0f} req/s  p50 {f['p50']:6.1f} ms  p99 {f['p99']:6.1f} ms")
    real, base = figures[API_LABEL], figures["baseline /ping"]
    ratio = real["rps"] / base["rps"]
    print(f"  API / baseline: {ratio:.2f} x req/s ({'met' if ratio >= 0.5 else 'MISSED'} half-baseline; "
          f"p99 < 100 ms {'met' if real['p99'] < 100 else 'MISSED'})")
    if BEFORE_LABEL in figures:
        print(f"  the code before / baseline: {figures[BEFORE_LABEL]['rps'] / base['rps']:.2f} x req/s")
    with open("/proc/loadavg") as load:
        print(f"  load average at the end: {' '.join(load.read().split()[:3])}")


if __name__ == "__main__":
    main()
