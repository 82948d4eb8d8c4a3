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
"""

from __future__ import annotations

import asyncio
import os
import random
import secrets
import statistics
import subprocess
import sys
import time
from urllib.parse import urlencode

from _django import ROOT, bench_database, free_port, http_server, wait_for_ping

REQUESTS = int(os.getenv("BENCH_REQUESTS", "2000"))
BLOCK = 500  # requests per block; the baseline and the webhook take turns
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


def _interleaved(port: int, concurrency: int, baseline: list, incoming: list):
    """Both loads in alternating blocks: this machine is shared, and its speed drifts within
    seconds — measured one after the other, the two sides of the ratio would see different
    machines. Returns (elapsed, latencies) for each side, summed over its blocks."""
    totals = {"base": [0.0, []], "real": [0.0, []]}
    for start in range(0, len(incoming), BLOCK):
        for side, requests in (("base", baseline), ("real", incoming)):
            elapsed, latencies = asyncio.run(_load(port, requests[start:start + BLOCK], concurrency))
            totals[side][0] += elapsed
            totals[side][1] += latencies
    return totals["base"], totals["real"]


def _report(label: str, elapsed: float, latencies: list[float]) -> dict:
    ordered = sorted(latencies)
    figures = {"rps": len(ordered) / elapsed, "p50": statistics.median(ordered) * 1000,
               "p99": ordered[max(0, int(len(ordered) * 0.99) - 1)] * 1000}
    print(f"  {label:<34} {figures['rps']:7.0f} req/s  p50 {figures['p50']:6.1f} ms  p99 {figures['p99']:6.1f} ms",
          file=sys.stderr)
    return figures


def main() -> None:
    with bench_database("switchboard_bench_webhooks"):
        from django.db import connections
        from django_tenants.utils import schema_context

        from answering.services import call_flow_replace
        from tenants import services

        services.client_provision(name="Bench Heating", slug="benchheating", time_zone="America/Chicago",
                                  numbers=[services.NumberSpec(NUMBER)])
        with schema_context("benchheating"):
            call_flow_replace(hours=[(d, "00:00", "23:59:59") for d in range(7)],
                              options=[{"flow": "open", "digit": "1", "label": "Service", "action": "queue"}],
                              prompts=[{"key": "menu", "text": "For service press 1."}])
        database_url = os.environ["DATABASE_URL"]
        connections.close_all()

        port = free_port()
        public = f"http://localhost:{port}"
        env = {**os.environ, "DATABASE_URL": database_url, "DEBUG": "0", "SECRET_KEY": "bench-secret",
               "TWILIO_AUTH_TOKEN": TOKEN, "TWILIO_ACCOUNT_SID": "AC" + "b" * 32, "TWILIO_MODE": "simulate",
               "PUBLIC_BASE_URL": public, "LOG_LEVEL": "WARNING", "SWITCHBOARD_TESTING": "0"}
        server = subprocess.Popen(http_server(port, workers=os.getenv("BENCH_WORKERS", "4")),
                                  cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        print(f"  server: {SERVER} ({'gunicorn switchboard.wsgi' if SERVER == 'wsgi' else 'uvicorn switchboard.asgi'}, "
              f"{os.getenv('BENCH_WORKERS', '4')} workers)", file=sys.stderr)
        try:
            wait_for_ping(port)
            results = {}
            for concurrency in (20, 100):
                baseline = [("/ping", b"", {"Host": "localhost"})] * REQUESTS
                incoming = []
                for n in range(REQUESTS):
                    params = incoming_params()
                    headers = {"Host": "localhost", "Content-Type": "application/x-www-form-urlencoded",
                               "X-Twilio-Signature": _sign(f"{public}/twilio/voice/incoming", params)}
                    incoming.append(("/twilio/voice/incoming", urlencode(params).encode(), headers))
                asyncio.run(_load(port, baseline[:200], concurrency))  # warm every worker
                base, real = _interleaved(port, concurrency, baseline, incoming)
                results[concurrency] = (_report(f"baseline /ping @ {concurrency}", *base),
                                        _report(f"/twilio/voice/incoming @ {concurrency}", *real))
        finally:
            server.terminate()
            server.wait(timeout=20)
    for concurrency, (base, real) in results.items():
        ratio = real["rps"] / base["rps"]
        print(f"voice/incoming @ {concurrency}: {real['rps']:.0f} req/s p50 {real['p50']:.0f} ms p99 {real['p99']:.0f} ms; "
              f"baseline {base['rps']:.0f} req/s p99 {base['p99']:.0f} ms; ratio {ratio:.2f} "
              f"({'met' if ratio >= 0.5 else 'MISSED'} half-baseline"
              + (f", p99 < 100 ms {'met' if real['p99'] < 100 else 'MISSED'})" if concurrency == 20 else ")"))


if __name__ == "__main__":
    main()
