"""Agents' consoles for benchmarks: WebSockets opened with committed sessions, one inbox for
every message they receive, and the baseline every console benchmark compares against."""

from __future__ import annotations

import asyncio
import json
import time

from _django import progress


async def consoles_open(port: int, cookies: list[str]):
    """One console per session cookie (its first snapshot read); returns the sockets, an inbox
    of (console index, message, arrival time) and the reader tasks (cancel them when done)."""
    from websockets.asyncio.client import connect

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

    return sockets, inbox, [asyncio.create_task(reader(i, ws)) for i, ws in enumerate(sockets)]


async def round_trips(ws, inbox: asyncio.Queue, n: int = 50) -> list[float]:
    """The baseline: a plain WebSocket round trip, ``n`` times (the first console asks for a snapshot)."""
    samples = []
    for _ in range(n):
        started = time.perf_counter()
        await ws.send(json.dumps({"action": "snapshot"}))
        while True:
            index, message, at = await inbox.get()
            if index == 0 and message.get("type") == "snapshot":
                break
        samples.append(at - started)
    return samples
