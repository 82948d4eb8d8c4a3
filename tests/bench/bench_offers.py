"""From the signed webhook that queues a call to the offer on an agent's WebSocket, with 200
consoles connected; and the fan-out of one queue change to all 200.

Run with `make bench` (or `python tests/bench/bench_offers.py` with services up). Starts
the production-style servers (WebSockets: `uvicorn --workers 4`; the webhooks: `gunicorn
switchboard.wsgi --workers 4`; DEBUG=0) and a Celery worker on a
throwaway database, connects 200 agents' consoles, and places 200 calls one after the
other: each goes to the next available agent, who accepts it. Target: offer p99 < 100 ms.
The baseline, same run: a WebSocket round trip (the console asks for a snapshot).
"""

from __future__ import annotations

import asyncio
import json
import os
import statistics
import subprocess
import sys
import time
from urllib.parse import urlencode

from _django import ROOT, bench_database, free_port, http_server, progress, wait_for_ping

AGENTS = int(os.getenv("BENCH_CONSOLES", "200"))
TOKEN = "bench-auth-token"
NUMBER = "+13125550170"


def _p(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[max(0, int(len(ordered) * q) - 1)] * 1000


def main() -> None:
    with bench_database("switchboard_bench_offers"):
        from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
        from django.contrib.sessions.backends.db import SessionStore
        from django.db import connections
        from django_tenants.utils import schema_context

        from answering.services import call_flow_replace
        from tenants import services

        client = services.client_provision(name="Bench Plumbing", slug="benchplumbing", time_zone="America/Chicago",
                                           numbers=[services.NumberSpec(NUMBER)])
        with schema_context("benchplumbing"):
            call_flow_replace(hours=[(d, "00:00", "23:59:59") for d in range(7)],
                              options=[{"flow": "open", "digit": "1", "label": "Service", "action": "queue"}],
                              prompts=[{"key": "menu", "text": "For service press 1."}])
        cookies = []
        for n in range(AGENTS):
            user = services.user_create(email=f"agent{n}@bench.test", role="agent", password="x")
            services.agent_skills_set(user=user, clients=[client], languages=["en"])
            store = SessionStore()
            store[SESSION_KEY], store[BACKEND_SESSION_KEY] = str(user.pk), "django.contrib.auth.backends.ModelBackend"
            store[HASH_SESSION_KEY] = user.get_session_auth_hash()
            store.create()
            cookies.append(store.session_key)
        connections.close_all()

        port = free_port()
        public = f"http://localhost:{port}"
        # Same SECRET_KEY as this process: the sessions made above are signed with it.
        env = {**os.environ, "DEBUG": "0", "TWILIO_AUTH_TOKEN": TOKEN,
               "TWILIO_ACCOUNT_SID": "AC" + "b" * 32, "TWILIO_MODE": "simulate", "PUBLIC_BASE_URL": public,
               "LOG_LEVEL": "WARNING", "SWITCHBOARD_TESTING": "0", "CELERY_QUEUE": "bench-offers",
               "ACD_OFFER_TIMEOUT_SECONDS": "30"}
        # WebSockets on uvicorn; HTTP (the webhooks) where the README's production puts it:
        # gunicorn (BENCH_SERVER=asgi: the same uvicorn serves both).
        server = subprocess.Popen(http_server(port, server="asgi"), cwd=ROOT, env=env,
                                  stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        http_port, servers = port, [server]
        if os.getenv("BENCH_SERVER", "wsgi") == "wsgi":
            http_port = free_port()
            servers.append(subprocess.Popen(http_server(http_port), cwd=ROOT, env=env,
                                            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
        worker = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "switchboard", "worker", "-Q", "bench-offers", "--pool", "solo",
             "--loglevel", "WARNING", "--without-gossip", "--without-mingle"],
            cwd=ROOT, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            wait_for_ping(port)
            wait_for_ping(http_port)
            offers, fanout, baseline = asyncio.run(_run(port, http_port, public, cookies))
        finally:
            for process in (*servers, worker):
                process.terminate()
                try:
                    process.wait(timeout=20)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait()
    print(f"offer after the queueing webhook, {len(offers)} calls, {AGENTS} consoles: "
          f"p50 {statistics.median(offers) * 1000:.0f} ms, p99 {_p(offers, 0.99):.0f} ms "
          f"(target p99 < 100 ms: {'met' if _p(offers, 0.99) < 100 else 'MISSED'}); "
          f"baseline WebSocket round trip p50 {statistics.median(baseline) * 1000:.1f} ms, "
          f"p99 {_p(baseline, 0.99):.1f} ms")
    print(f"fan-out of one queue change to all {AGENTS} consoles: median {statistics.median(fanout) * 1000:.0f} ms, "
          f"max {max(fanout) * 1000:.0f} ms over {len(fanout)} changes")


async def _run(port: int, http_port: int, public: str, cookies: list[str]):
    import aiohttp
    from twilio.request_validator import RequestValidator
    from websockets.asyncio.client import connect

    validator = RequestValidator(TOKEN)
    sockets = []
    for n, cookie in enumerate(cookies):
        # The URI names the platform host; the socket goes to 127.0.0.1 (host/port below).
        ws = await connect(f"ws://localhost:{port}/ws/agent/", origin=f"http://localhost:{port}",
                           additional_headers={"Cookie": f"switchboard_session={cookie}"}, max_size=None,
                           host="127.0.0.1", port=port)
        await ws.recv()  # the snapshot
        sockets.append(ws)
        progress(n + 1, len(cookies), "consoles")
    inbox: asyncio.Queue = asyncio.Queue()

    async def reader(index, ws):
        async for raw in ws:
            inbox.put_nowait((index, json.loads(raw), time.perf_counter()))

    readers = [asyncio.create_task(reader(i, ws)) for i, ws in enumerate(sockets)]

    async def drain(seconds: float):
        end = time.perf_counter() + seconds
        while time.perf_counter() < end:
            try:
                await asyncio.wait_for(inbox.get(), timeout=max(0.01, end - time.perf_counter()))
            except asyncio.TimeoutError:
                break

    # Baseline: a plain WebSocket round trip (ask one console for a snapshot).
    baseline = []
    for _ in range(50):
        started = time.perf_counter()
        await sockets[0].send(json.dumps({"action": "snapshot"}))
        while True:
            index, message, at = await inbox.get()
            if index == 0 and message.get("type") == "snapshot":
                break
        baseline.append(at - started)

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
            sid = f"CA{n:032d}"
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
