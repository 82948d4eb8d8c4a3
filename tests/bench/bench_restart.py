"""`make run`: seconds from the command to the first 200 from /healthz, cold and second start.

Run with `make bench` (or `python tests/bench/bench_restart.py`). It runs `make run` with
its own embedded PostgreSQL and Redis in a temporary SWITCHBOARD_VAR (so the servers the
bench itself runs on are not reused), on a free port: once from nothing (the baseline:
initdb, migrations, demo), then three second starts (the figure: target under 15 s).
Each start is stopped with Ctrl-C (SIGINT), as a person would.
"""

from __future__ import annotations

import os
import shutil
import signal
import socket
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]
SECOND_STARTS = int(os.getenv("BENCH_RESTARTS", "3"))


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def healthy(port: int) -> bool:
    request = urllib.request.Request(f"http://127.0.0.1:{port}/healthz", headers={"Host": "localhost"})
    try:
        with urllib.request.urlopen(request, timeout=2) as response:
            return response.status == 200
    except Exception:
        return False


def start_until_healthy(env: dict, log: Path) -> float:
    port = free_port()
    started = time.monotonic()
    with open(log, "ab") as out:
        process = subprocess.Popen(["make", "--no-print-directory", "run"], cwd=ROOT, env={**env, "PORT": str(port)},
                                   stdout=out, stderr=subprocess.STDOUT, start_new_session=True)
    try:
        while not healthy(port):
            if process.poll() is not None:
                raise RuntimeError(f"make run exited {process.returncode}; see {log}")
            if time.monotonic() - started > 180:
                raise RuntimeError(f"no 200 from /healthz within 180 s; see {log}")
            time.sleep(0.1)
        return time.monotonic() - started
    finally:
        os.killpg(process.pid, signal.SIGINT)
        process.wait(timeout=60)


def main() -> None:
    var = Path(tempfile.mkdtemp(prefix="switchboard-bench-var-"))
    log = var / "run.log"
    env = {k: v for k, v in os.environ.items() if k not in ("DATABASE_URL", "REDIS_URL", "TEST_DATABASE_NAME")}
    env.update(SWITCHBOARD_VAR=str(var), SWITCHBOARD_TESTING="0")
    try:
        cold = start_until_healthy(env, log)
        print(f"  cold start (initdb, migrate, seed): {cold:.1f} s", file=sys.stderr)
        warm = []
        for n in range(SECOND_STARTS):
            warm.append(start_until_healthy(env, log))
            print(f"  second start {n + 1}: {warm[-1]:.1f} s", file=sys.stderr)
    finally:
        shutil.rmtree(var, ignore_errors=True)
    median = statistics.median(warm)
    print(f"make run, second start to 200 /healthz: median {median:.1f} s over {len(warm)} "
          f"(min {min(warm):.1f}, max {max(warm):.1f}); baseline cold start {cold:.1f} s; "
          f"target < 15 s: {'met' if median < 15 else 'MISSED'}")


if __name__ == "__main__":
    main()
