"""Signed POST /twilio/voice/incoming against the production-style server, 20 and 100 at once.

Run with `make bench` (or `python tests/bench/bench_webhooks.py`). The server is started
the way the README runs production's HTTP: `gunicorn switchboard.wsgi --workers 4` with
DEBUG=0 (`BENCH_SERVER=asgi`: `uvicorn switchboard.asgi --workers 4`, HTTP and WebSockets
in one server, for comparison). Every request is a new call with the parameters Twilio
sends (its own CallSid and caller, correctly signed), so each one creates a call session
and a call record and answers the client's greeting and menu.
The baseline, measured in the same run against the same server: POST /ping, a minimal
view behind the same middleware, in blocks of 500 requests taking turns with the webhook's
(this machine is shared; its speed drifts from one second to the next). Targets: at least half the baseline's throughput, and
p99 under 100 ms at 20 concurrent.
`BENCH_BASELINE_REF=<git ref>` (tests/bench/_ab.py): that commit's code serves the same
requests from a second server on the same database, its blocks taking turns with the
current code's and the baseline's; the output puts the two side by side, with their ratio.
"""

from __future__ import annotations

import asyncio
import os
import random
import secrets
import statistics
import sys
import time
from urllib.parse import urlencode

import _ab as ab
from _django import bench_database, free_port, http_server, wait_for_ping

REQUESTS = int(os.getenv("BENCH_REQUESTS", "2000"))
BLOCK = int(os.getenv("BENCH_BLOCK", "500"))  # requests per block; the loads take turns
SERVER = os.getenv("BENCH_SERVER", "wsgi")  # how production serves HTTP; "asgi": uvicorn alone
TOKEN = "bench-auth-token"
NUMBER = "+13125550160"


def incoming_params(to: str = NUMBER) -> dict:
    """What Twilio posts to the voice URL when a call comes in: a new CallSid, a caller from
    anywhere in the area code, and the caller's and number's whereabouts (TWILIO.md)."""
    caller = f"+1312{random.randrange(2000000, 9999999)}"
    where = {"City": "CHICAGO", "State": "IL", "Zip": "60601", "Country": "US"}
    return {"CallSid": "CA" + secrets.token_hex(16), "AccountSid": "AC" + "b" * 32, "ApiVersion": "2010-04-01",
            "CallStatus": "ringing", "Direction": "inbound", "From": caller, "Caller": caller, "To": to, "Called": to,
            **{f"{who}{part}": value for who in ("From", "Caller", "To", "Called") for part, value in where.items()}}


def _sign(url: str, params: dict) -> str:
    from twilio.request_validator import RequestValidator

    return RequestValidator(TOKEN).compute_signature(url, params)


async def _load(port: int, requests: list[tuple[str, bytes, dict]], concurrency: int) -> tuple[float, list[float]]:
    import aiohttp

    latencies: list[float] = []
    queue = iter(requests)
    connector = aiohttp.TCPConnector(limit=concurrency)
    async with aiohttp.ClientSession(connector=connector) as session:
        async def worker():
            for path, body, headers in queue:
                started = time.perf_counter()
                async with session.post(f"http://127.0.0.1:{port}{path}", data=body, headers=headers) as reply:
                    await reply.read()
                    if reply.status != 200:
                        raise RuntimeError(f"{path} answered {reply.status}")
                latencies.append(time.perf_counter() - started)

        started = time.perf_counter()
        await asyncio.gather(*(worker() for _ in range(concurrency)))
        return time.perf_counter() - started, latencies


def _interleaved(concurrency: int, loads: dict[str, tuple[int, list]]) -> dict[str, list[tuple[float, list[float]]]]:
    """Every load in blocks, taking turns: this machine is shared, and its speed drifts within
    seconds — measured one after the other, the two sides of a ratio would see different
    machines. The first load (the baseline) leads each block; the others swap places from one
    block to the next, so neither always follows the other's writes. Returns each load's
    (elapsed, latencies) block by block."""
    blocks: dict[str, list] = {label: [] for label in loads}
    first, *others = loads
    for number, start in enumerate(range(0, REQUESTS, BLOCK)):
        for label in [first, *(others[::-1] if number % 2 else others)]:
            port, requests = loads[label]
            blocks[label].append(asyncio.run(_load(port, requests[start:start + BLOCK], concurrency)))
    return blocks


def _figures(blocks: list[tuple[float, list[float]]]) -> dict:
    ordered = sorted(latency for _, latencies in blocks for latency in latencies)
    return {"rps": len(ordered) / sum(elapsed for elapsed, _ in blocks), "p50": statistics.median(ordered) * 1000,
            "p99": ordered[max(0, int(len(ordered) * 0.99) - 1)] * 1000,
            "block_rps": [len(latencies) / elapsed for elapsed, latencies in blocks]}


def _incoming(public: str, count: int = REQUESTS) -> list[tuple[str, bytes, dict]]:
    """``count`` new calls, signed for the server whose PUBLIC_BASE_URL is ``public``."""
    incoming = []
    for _ in range(count):
        params = incoming_params()
        headers = {"Host": "localhost", "Content-Type": "application/x-www-form-urlencoded",
                   "X-Twilio-Signature": _sign(f"{public}/twilio/voice/incoming", params)}
        incoming.append(("/twilio/voice/incoming", urlencode(params).encode(), headers))
    return incoming


def main() -> None:
    sides = ab.sides()
    with bench_database("switchboard_bench_webhooks"):
        from django.db import connections
        from django_tenants.utils import schema_context

        from answering.flow.services import call_flow_replace
        from tenants import services

        services.client_provision(name="Bench Heating", slug="benchheating", time_zone="America/Chicago",
                                  numbers=[services.NumberSpec(NUMBER)])
        with schema_context("benchheating"):
            call_flow_replace(hours=[(d, "00:00", "23:59:59") for d in range(7)],
                              options=[{"flow": "open", "digit": "1", "label": "Service", "action": "queue"}],
                              prompts=[{"key": "menu", "text": "For service press 1."}])
        database_url = os.environ["DATABASE_URL"]
        connections.close_all()

        servers = {}  # side label -> (port, its PUBLIC_BASE_URL, process)
        for n, side in enumerate(sides):
            port = free_port()
            env = {**os.environ, "DATABASE_URL": database_url, "DEBUG": "0", "SECRET_KEY": "bench-secret",
                   "TWILIO_AUTH_TOKEN": TOKEN, "TWILIO_ACCOUNT_SID": "AC" + "b" * 32, "TWILIO_MODE": "simulate",
                   "PUBLIC_BASE_URL": f"http://localhost:{port}", "LOG_LEVEL": "WARNING", "SWITCHBOARD_TESTING": "0"}
            process = ab.start(side, http_server(port, workers=os.getenv("BENCH_WORKERS", "4")), env,
                               f"bench-webhooks-server-{n}")
            servers[side.label] = (port, env["PUBLIC_BASE_URL"], process)
        print(f"  server: {SERVER} ({'gunicorn switchboard.wsgi' if SERVER == 'wsgi' else 'uvicorn switchboard.asgi'}, "
              f"{os.getenv('BENCH_WORKERS', '4')} workers) for " + ", ".join(f"{s.label} ({s.root})" for s in sides),
              file=sys.stderr)
        try:
            for port, _, _ in servers.values():
                wait_for_ping(port)
            results = {}
            for concurrency in (20, 100):
                ping = [("/ping", b"", {"Host": "localhost"})] * REQUESTS
                loads = {"baseline /ping": (servers["current"][0], ping)}  # on the current code's server
                loads.update({label: (port, _incoming(public)) for label, (port, public, _) in servers.items()})
                for port, public, _ in servers.values():  # warm every worker, and its caches for the webhook
                    asyncio.run(_load(port, ping[:200], concurrency))
                    asyncio.run(_load(port, _incoming(public, 100), concurrency))
                results[concurrency] = {label: _figures(blocks)
                                        for label, blocks in _interleaved(concurrency, loads).items()}
        finally:
            ab.stop([process for _, _, process in servers.values()])
    for concurrency, figures in results.items():
        print(f"voice/incoming @ {concurrency}, {REQUESTS} requests each in blocks of {BLOCK} taking turns:")
        for label, f in figures.items():
            print(f"  {label:<30} {f['rps']:7.0f} req/s  p50 {f['p50']:6.1f} ms  p99 {f['p99']:6.1f} ms")
        real, base = figures["current"], figures["baseline /ping"]
        for label in list(figures)[2:]:  # the previous ref's
            old = figures[label]
            by_block = [a / b for a, b in zip(real["block_rps"], old["block_rps"])]
            print(f"  {'current / ' + label.split()[0]:<30} {real['rps'] / old['rps']:7.2f} x      "
                  f"p50 {real['p50'] / old['p50']:6.2f} x   p99 {real['p99'] / old['p99']:6.2f} x   "
                  f"(req/s block by block {min(by_block):.2f}-{max(by_block):.2f} x)")
        ratio = real["rps"] / base["rps"]
        print(f"  current / baseline /ping: {ratio:.2f} x req/s ({'met' if ratio >= 0.5 else 'MISSED'} half-baseline"
              + (f"; p99 < 100 ms {'met' if real['p99'] < 100 else 'MISSED'})" if concurrency == 20 else ")"))


if __name__ == "__main__":
    main()
