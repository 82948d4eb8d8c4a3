"""From the signed webhook that queues a call to the offer on an agent's WebSocket, with 200
consoles connected; and the fan-out of one queue change to all 200.

Run with `make bench` (or `python tests/bench/bench_offers.py` with services up). Starts
the production-style servers (WebSockets: `uvicorn --workers 4`; the webhooks: `gunicorn
switchboard.wsgi --workers 4`; DEBUG=0) and a Celery worker on a
throwaway database, connects 200 agents' consoles, and places 200 calls one after the
other: each goes to the next available agent, who accepts it. Target: offer p99 < 100 ms.
The baseline, same run: a WebSocket round trip (the console asks for a snapshot).
`BENCH_BASELINE_REF=<git ref>` (tests/bench/_ab.py): that commit's servers and worker take
turns with the current code's, BENCH_ROUNDS rounds each (default 2: A B B A), on the same
database, each turn with agents and calls of its own; both sides' figures are printed, and
their ratio.
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import sys
import time
from urllib.parse import urlencode

import _ab as ab
from _consoles import consoles_open, round_trips
from _django import bench_database, free_port, http_server, progress, wait_for_ping

AGENTS = int(os.getenv("BENCH_CONSOLES", "200"))
ROUNDS = int(os.getenv("BENCH_ROUNDS", "2" if ab.BASELINE_REF else "1"))  # per side
TOKEN = "bench-auth-token"
NUMBER = "+13125550170"


def _p(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[max(0, int(len(ordered) * q) - 1)] * 1000


def main() -> None:
    sides = ab.sides()
    with bench_database("switchboard_bench_offers"):
        from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
        from django.contrib.sessions.backends.db import SessionStore
        from django.db import connections
        from django_tenants.utils import schema_context

        from answering.flow.services import call_flow_replace
        from tenants import services

        client = services.client_provision(name="Bench Plumbing", slug="benchplumbing", time_zone="America/Chicago",
                                           numbers=[services.NumberSpec(NUMBER)])
        with schema_context("benchplumbing"):
            call_flow_replace(hours=[(d, "00:00", "23:59:59") for d in range(7)],
                              options=[{"flow": "open", "digit": "1", "label": "Service", "action": "queue"}],
                              prompts=[{"key": "menu", "text": "For service press 1."}])
        # One side's servers at a time (the consoles and the dispatcher are the measured path),
        # in the order A B B A A B ... so a drift of the machine, or of the tables growing by a
        # turn's calls and agents, weighs on both alike. Each turn has agents of its own (the last
        # turn's are still on their calls) and CallSids of its own.
        turns = [side for round_ in range(ROUNDS) for side in (sides[::-1] if round_ % 2 else sides)]
        cookies = [[] for _ in turns]
        for turn, n in ((turn, n) for turn in range(len(turns)) for n in range(AGENTS)):
            email = f"agent{n}@bench.test" if turn == 0 else f"agent{n}.{turn}@bench.test"
            user = services.user_create(email=email, role="agent", password="x")
            services.agent_skills_set(user=user, clients=[client], languages=["en"])
            store = SessionStore()
            store[SESSION_KEY], store[BACKEND_SESSION_KEY] = str(user.pk), "django.contrib.auth.backends.ModelBackend"
            store[HASH_SESSION_KEY] = user.get_session_auth_hash()
            store.create()
            cookies[turn].append(store.session_key)
        connections.close_all()

        figures = {side.label: ([], [], []) for side in sides}  # offers, fan-out, baseline
        for turn, side in enumerate(turns):
            print(f"  turn {turn + 1}/{len(turns)}: {side.label} ({side.root})", file=sys.stderr)
            for into, samples in zip(figures[side.label], _serve(side, sides.index(side), turn, cookies[turn])):
                into.extend(samples)
    for label, (offers, fanout, baseline) in figures.items():
        prefix = f"[{label}] " if len(sides) > 1 else ""
        print(f"{prefix}offer after the queueing webhook, {len(offers)} calls, {AGENTS} consoles: "
              f"p50 {statistics.median(offers) * 1000:.0f} ms, p99 {_p(offers, 0.99):.0f} ms "
              f"(target p99 < 100 ms: {'met' if _p(offers, 0.99) < 100 else 'MISSED'}); "
              f"baseline WebSocket round trip p50 {statistics.median(baseline) * 1000:.1f} ms, "
              f"p99 {_p(baseline, 0.99):.1f} ms")
        print(f"{prefix}fan-out of one queue change to all {AGENTS} consoles: median "
              f"{statistics.median(fanout) * 1000:.0f} ms, max {max(fanout) * 1000:.0f} ms over {len(fanout)} changes")
    if len(sides) > 1:
        (now, now_fanout, _), (then, then_fanout, _) = figures[sides[0].label], figures[sides[1].label]
        print(f"current / {sides[1].label}: offer p50 {statistics.median(now) / statistics.median(then):.2f} x, "
              f"p99 {_p(now, 0.99) / _p(then, 0.99):.2f} x; fan-out median "
              f"{statistics.median(now_fanout) / statistics.median(then_fanout):.2f} x")


def _serve(side: ab.Side, n: int, turn: int, cookies: list[str]):
    """One turn against the side's servers and Celery worker, started for it and stopped after."""
    port = free_port()
    public = f"http://localhost:{port}"
    # Same SECRET_KEY as this process: the sessions made above are signed with it. A queue per
    # side, so one side's delayed tasks (offer expiry, console gone) never run the other's code.
    env = {**os.environ, "DEBUG": "0", "TWILIO_AUTH_TOKEN": TOKEN,
           "TWILIO_ACCOUNT_SID": "AC" + "b" * 32, "TWILIO_MODE": "simulate", "PUBLIC_BASE_URL": public,
           "LOG_LEVEL": "WARNING", "SWITCHBOARD_TESTING": "0", "CELERY_QUEUE": f"bench-offers-{n}",
           "ACD_OFFER_TIMEOUT_SECONDS": "30"}
    # WebSockets on uvicorn; HTTP (the webhooks) where the README's production puts it:
    # gunicorn (BENCH_SERVER=asgi: the same uvicorn serves both).
    processes = [ab.start(side, http_server(port, server="asgi"), env, f"bench-offers-asgi-{n}")]
    http_port = port
    if os.getenv("BENCH_SERVER", "wsgi") == "wsgi":
        http_port = free_port()
        processes.append(ab.start(side, http_server(http_port), env, f"bench-offers-wsgi-{n}"))
    processes.append(ab.start(side, [sys.executable, "-m", "celery", "-A", "switchboard", "worker", "-Q",
                                     f"bench-offers-{n}", "--pool", "solo", "--loglevel", "WARNING",
                                     "--without-gossip", "--without-mingle"], env, f"bench-offers-worker-{n}"))
    try:
        wait_for_ping(port)
        wait_for_ping(http_port)
        return asyncio.run(_run(port, http_port, public, cookies, f"CA{turn:02d}"))
    finally:
        ab.stop(processes)


async def _run(port: int, http_port: int, public: str, cookies: list[str], prefix: str = "CA"):
    import aiohttp
    from twilio.request_validator import RequestValidator
    
    validator = RequestValidator(TOKEN)
    sockets, inbox, readers = await consoles_open(port, cookies)

    async def drain(seconds: float):
        end = time.perf_counter() + seconds
        while time.perf_counter() < end:
            try:
                await asyncio.wait_for(inbox.get(), timeout=max(0.01, end - time.perf_counter()))
            except asyncio.TimeoutError:
                break

    # Baseline: a plain WebSocket round trip (ask one console for a snapshot).
    baseline = await round_trips(sockets[0], inbox)

    offers, fanout, answered = [], [], []
    async with aiohttp.ClientSession() as http:
        async def post(path: str, params: dict):
            headers = {"Host": f"localhost:{port}", "X-Twilio-Signature": validator.compute_signature(public + path, params),
                       "Content-Type": "application/x-www-form-urlencoded"}
            async with http.post(f"http://127.0.0.1:{http_port}{path}", data=urlencode(params), headers=headers) as reply:
                await reply.read()
                assert reply.status == 200, (path, reply.status)

        for n, ws in enumerate(sockets):
            await ws.send(json.dumps({"action": "status", "status": "available"}))
            await drain(0.05)
            sid = f"{prefix}{n:0{34 - len(prefix)}d}"
            base = {"CallSid": sid, "AccountSid": "AC" + "b" * 32, "From": "+13125559999", "To": NUMBER,
                    "CallStatus": "in-progress", "Direction": "inbound"}
            await post("/twilio/voice/incoming", base)
            started = time.perf_counter()
            await post(f"/twilio/voice/menu/{sid}?flow=open", {**base, "Digits": "1"})
            answered.append(time.perf_counter() - started)
            while True:
                index, message, at = await asyncio.wait_for(inbox.get(), timeout=30)
                if message.get("type") == "offer" and message.get("call_sid") == sid:
                    offers.append(at - started)
                    await sockets[index].send(json.dumps({"action": "accept", "call": message["call"]}))
                    break
            progress(n + 1, len(sockets), "offers  ")

    # Fan-out: one queue change, every console's fresh snapshot.
    for _ in range(5):
        await drain(0.5)
        from asgiref.sync import sync_to_async

        from answering import live

        started = time.perf_counter()
        await sync_to_async(live.push)("client.benchplumbing.queue", {
            "type": "queue", "client": "benchplumbing", "name": "Bench Plumbing", "waiting": 0, "longest_wait": 0,
            "calls": []})
        seen = set()
        last = started
        while len(seen) < len(sockets):
            index, message, at = await asyncio.wait_for(inbox.get(), timeout=60)
            if message.get("type") == "queue":
                seen.add(index)
                last = at
        fanout.append(last - started)
    for task in readers:
        task.cancel()
    for ws in sockets:
        await ws.close()
    print(f"  (the queueing webhook itself answered in p50 {statistics.median(answered) * 1000:.0f} ms, "
          f"p99 {_p(answered, 0.99):.0f} ms)", file=sys.stderr)
    return offers, fanout, baseline


if __name__ == "__main__":
    main()
