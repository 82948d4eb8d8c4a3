"""From the person-answered callback to the screen pop on the agent's console: p50 / p99.

Run with `make bench` (or `python tests/bench/bench_dialer_screen_pop.py` with services up).
Starts the production-style servers on a throwaway database (WebSockets: `uvicorn --workers
4`; the webhooks: `gunicorn --workers 4`, DEBUG=0), connects BENCH_CONSOLES outbound agents'
consoles, and for each of BENCH_CALLS campaign calls (a committed pending attempt, as the
dialer leaves it) posts Twilio's signed asynchronous-detection callback `AnsweredBy=human`.
The clock runs from that POST to the console's snapshot carrying the call with its contact,
earlier attempts and script (the screen pop). Target: p99 under 300 ms, so a person is with
an agent well inside the 2-second rule. The baseline, same run: a WebSocket round trip (the
console asks for a snapshot).
"""

from __future__ import annotations

import asyncio
import datetime as dt
import os
import statistics
import time
from urllib.parse import urlencode

from _consoles import consoles_open, round_trips
from _django import ROOT, bench_database, free_port, http_server, progress, wait_for_ping

CONSOLES = int(os.getenv("BENCH_CONSOLES", "100"))
CALLS = int(os.getenv("BENCH_CALLS", str(CONSOLES)))
TOKEN = "bench-auth-token"
ACCOUNT = "AC" + "c" * 32
NUMBER = "+13125550171"


def _p(samples: list[float], q: float) -> float:
    ordered = sorted(samples)
    return ordered[max(0, int(len(ordered) * q) - 1)] * 1000


def main() -> None:
    with bench_database("switchboard_bench_screen_pop"):
        from django.contrib.auth import BACKEND_SESSION_KEY, HASH_SESSION_KEY, SESSION_KEY
        from django.contrib.sessions.backends.db import SessionStore
        from django.db import connections
        from django.utils import timezone
        from django_tenants.utils import schema_context

        from answering.acd.models import AgentPresence
        from campaigns.models import CallAttempt, Campaign, Contact, ContactList
        from campaigns.services import lifecycle
        from tenants import services

        client = services.client_provision(name="Bench Outbound", slug="benchpop", time_zone="America/Chicago",
                                           numbers=[services.NumberSpec(NUMBER)])
        cookies = []
        for n in range(CONSOLES):
            user = services.user_create(email=f"caller{n}@bench.test", role="agent", password="x")
            services.agent_skills_set(user=user, clients=[client], languages=["en"], mode="outbound")
            AgentPresence.objects.create(agent=user, status="available", mode="outbound", idle_since=timezone.now())
            store = SessionStore()
            store[SESSION_KEY], store[BACKEND_SESSION_KEY] = str(user.pk), "django.contrib.auth.backends.ModelBackend"
            store[HASH_SESSION_KEY] = user.get_session_auth_hash()
            store.create()
            cookies.append(store.session_key)
        attempts = []
        with schema_context("benchpop"):
            campaign = lifecycle.campaign_create(name="Bench", purpose="informational", mode=Campaign.Mode.PROGRESSIVE)
            people = ContactList.objects.create(campaign=campaign, name="People")
            for n in range(CALLS):
                contact = Contact.objects.create(campaign=campaign, list=people, number=f"+1312555{n + 2000:04d}",
                                                 first_name="Pat", status=Contact.Status.IN_FLIGHT, attempts=1,
                                                 fields={"plan": "Gold"})
                # Two earlier attempts each: the screen pop shows the history.
                for days in (3, 1):
                    CallAttempt.objects.create(campaign=campaign, contact=contact, number=contact.number,
                                               channel="autodialed", purpose="informational", outcome="no_answer",
                                               started_at=timezone.now() - dt.timedelta(days=days))
                attempts.append(CallAttempt.objects.create(
                    campaign=campaign, contact=contact, number=contact.number, caller_id=NUMBER, channel="autodialed",
                    purpose="informational", started_at=timezone.now(), answered_at=timezone.now(),
                    twilio_sid=f"CA{n:032d}").pk)
        connections.close_all()

        port, http_port = free_port(), free_port()
        public = f"http://localhost:{port}"
        env = {**os.environ, "DEBUG": "0", "TWILIO_AUTH_TOKEN": TOKEN, "TWILIO_ACCOUNT_SID": ACCOUNT,
               "TWILIO_MODE": "simulate", "PUBLIC_BASE_URL": public, "LOG_LEVEL": "WARNING",
               "SWITCHBOARD_TESTING": "0"}
        import subprocess

        env["PYTHONPATH"] = str(ROOT)
        processes = [subprocess.Popen(http_server(port, server="asgi"), env=env, cwd=ROOT),
                     subprocess.Popen(http_server(http_port), env=env, cwd=ROOT)]
        try:
            wait_for_ping(port)
            wait_for_ping(http_port)
            pops, baseline = asyncio.run(_run(port, http_port, public, cookies, attempts))
        finally:
            for process in processes:
                process.terminate()
            for process in processes:
                process.wait(30)
    print(f"\nScreen pop after the person-answered callback, {len(pops)} calls, {CONSOLES} outbound consoles: "
          f"p50 {statistics.median(pops) * 1000:.0f} ms, p99 {_p(pops, 0.99):.0f} ms "
          f"(target p99 < 300 ms: {'met' if _p(pops, 0.99) < 300 else 'MISSED'}); "
          f"baseline WebSocket round trip p50 {statistics.median(baseline) * 1000:.1f} ms, "
          f"p99 {_p(baseline, 0.99):.1f} ms")


async def _run(port: int, http_port: int, public: str, cookies: list[str], attempts: list[int]):
    import aiohttp
    from twilio.request_validator import RequestValidator
    
    validator = RequestValidator(TOKEN)
    sockets, inbox, readers = await consoles_open(port, cookies)
    baseline = await round_trips(sockets[0], inbox)

    pops = []
    async with aiohttp.ClientSession() as http:
        for n, attempt in enumerate(attempts):
            sid = f"CA{n:032d}"
            path = f"/twilio/outbound/benchpop/{attempt}/amd"
            params = {"CallSid": sid, "AccountSid": ACCOUNT, "AnsweredBy": "human", "MachineDetectionDuration": "2100"}
            headers = {"Host": f"localhost:{port}", "X-Twilio-Signature": validator.compute_signature(public + path, params),
                       "Content-Type": "application/x-www-form-urlencoded"}
            started = time.perf_counter()
            async with http.post(f"http://127.0.0.1:{http_port}{path}", data=urlencode(params), headers=headers) as reply:
                await reply.read()
                assert reply.status == 204, (path, reply.status)
            while True:
                index, message, at = await asyncio.wait_for(inbox.get(), timeout=30)
                call = message.get("call") or {}
                if message.get("type") == "snapshot" and call.get("call_sid") == sid:
                    assert call.get("outbound", {}).get("contact", {}).get("first_name") == "Pat", call
                    assert len(call["outbound"]["attempts"]) >= 2
                    pops.append(at - started)
                    break
            progress(n + 1, len(attempts), "screen pops")
    for task in readers:
        task.cancel()
    for ws in sockets:
        await ws.close()
    return pops, baseline


if __name__ == "__main__":
    main()
