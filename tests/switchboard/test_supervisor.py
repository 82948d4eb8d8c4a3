"""`make run`'s supervisor (switchboard/dev.py: `supervise`) restarts a child that dies and
keeps the others running; only Ctrl-C stops everything (issue #14). The real thing:
`python -m switchboard.dev run` on a database of its own, children killed with -9."""

from __future__ import annotations

import contextlib
import http.client
import os
import re
import signal
import subprocess
import sys
import threading
import time
import uuid
from pathlib import Path
from typing import Self
from urllib.parse import urlsplit, urlunsplit

import psutil
import psycopg
import pytest
import redis
from django.conf import settings

from switchboard import dev
from tests.processes import ROOT, free_port

STARTED = re.compile(r"^dev: (web|worker|beat) (?:re)?started \(pid (\d+)\)$", re.MULTILINE)


def test_the_back_off_doubles_to_a_cap_and_resets_after_a_healthy_minute():
    backoff = dev.Backoff()
    assert [backoff.delay_after(ran_for=2) for _ in range(7)] == [1, 2, 4, 8, 16, 30, 30]
    assert backoff.delay_after(ran_for=dev.RESTART_HEALTHY_AFTER) == 1
    assert backoff.delay_after(ran_for=5) == 2


def test_a_death_is_described_by_its_signal_or_exit_code():
    assert dev.exit_description(-signal.SIGKILL) == "killed by SIGKILL"
    assert dev.exit_description(1) == "exit code 1"


def _database_url(name: str) -> str:
    return urlunsplit(urlsplit(settings.DATABASE_URL)._replace(path=f"/{name}"))


def _admin(sql: str) -> None:
    url = _database_url("postgres").replace("postgres://", "postgresql://", 1)
    with psycopg.connect(url, autocommit=True) as conn:
        conn.execute(sql)


@pytest.fixture
def own_database():
    """An empty database beside DATABASE_URL's: `run` migrates and seeds the demo into it."""
    name = f"switchboard_supervisor_test_{uuid.uuid4().hex[:8]}"
    _admin(f'CREATE DATABASE "{name}"')
    try:
        yield _database_url(name)
    finally:
        _admin(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def _healthz(port: int) -> int | None:
    """/healthz's status, or None when nothing answered."""
    conn = http.client.HTTPConnection("127.0.0.1", port, timeout=5)
    try:
        conn.request("GET", "/healthz", headers={"Host": "localhost"})
        return conn.getresponse().status
    except (OSError, http.client.HTTPException):
        return None
    finally:
        conn.close()


class Poller:
    """Asks /healthz over and over from a thread; what it got, in order."""

    def __init__(self, port: int) -> None:
        self.port = port
        self.answers: list[int | None] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._run, daemon=True)

    def _run(self) -> None:
        while not self._stop.is_set():
            self.answers.append(_healthz(self.port))
            self._stop.wait(0.2)

    def __enter__(self) -> Self:
        self._thread.start()
        return self

    def __exit__(self, *exc) -> None:
        self._stop.set()
        self._thread.join(10)


class Supervisor:
    def __init__(self, log: Path, process: subprocess.Popen) -> None:
        self.log = log
        self.process = process

    def text(self) -> str:
        return self.log.read_text(errors="replace")

    def pids(self) -> dict[str, int]:
        """The latest pid of each child, from the supervisor's own lines."""
        return {name: int(pid) for name, pid in STARTED.findall(self.text())}

    def wait_for(self, check, what: str, timeout: float) -> None:
        deadline = time.monotonic() + timeout
        while not check():
            assert self.process.poll() is None, f"the supervisor exited ({self.process.returncode}):\n{self.text()[-5000:]}"
            assert time.monotonic() < deadline, f"{what}: not within {timeout} s:\n{self.text()[-5000:]}"
            time.sleep(0.2)

    def worker_ready_count(self) -> int:
        return len(re.findall(r"^worker +\| .* ready\.$", self.text(), re.MULTILINE))  # names are padded to the longest


@pytest.mark.processes
def test_a_killed_child_is_restarted_while_the_others_keep_running_and_ctrl_c_stops_all(own_database, tmp_path):
    port = free_port()
    queue = f"supervisor-{uuid.uuid4().hex[:8]}"
    env = {**os.environ, "DATABASE_URL": own_database, "REDIS_URL": settings.REDIS_URL, "PORT": str(port),
           "CELERY_QUEUE": queue, "PYTHONUNBUFFERED": "1",
           # Beat's schedule file and the start-up lock go here, not beside a developer's `make run`.
           "SWITCHBOARD_VAR": str(tmp_path / "var")}
    env.pop("CELERY_BROKER_URL", None)
    log = tmp_path / "run.log"
    with open(log, "wb") as out:
        process = subprocess.Popen([sys.executable, "-m", "switchboard.dev", "run"], cwd=ROOT, env=env,
                                   stdout=out, stderr=subprocess.STDOUT)
    supervisor = Supervisor(log, process)
    try:
        # Web, worker and beat; in simulate mode also the simulated callees of campaign calls.
        supervisor.wait_for(lambda: {"web", "worker", "beat"} <= set(supervisor.pids()), "web, worker and beat started", 60)
        supervisor.wait_for(lambda: _healthz(port) is not None, "web answers", 30)
        supervisor.wait_for(lambda: supervisor.worker_ready_count() == 1, "worker ready", 30)
        first = supervisor.pids()

        # The worker and beat die: each comes back with a new pid; the web server never stops answering.
        with Poller(port) as poller:
            os.kill(first["worker"], signal.SIGKILL)
            os.kill(first["beat"], signal.SIGKILL)
            supervisor.wait_for(lambda: supervisor.pids()["worker"] != first["worker"]
                                and supervisor.pids()["beat"] != first["beat"], "worker and beat restarted", 20)
            supervisor.wait_for(lambda: supervisor.worker_ready_count() == 2, "the new worker ready", 30)
        assert poller.answers, "/healthz was never asked"
        assert set(poller.answers) <= {200, 503}, f"/healthz while the worker restarted: {poller.answers}"
        second = supervisor.pids()
        assert second["web"] == first["web"]
        assert all(psutil.pid_exists(second[name]) for name in ("worker", "beat"))
        for name in ("worker", "beat"):
            assert re.search(rf"^dev: {name} \(pid {first[name]}\) died \(killed by SIGKILL\) after \d+ s; "
                             r"restarting it in 1 s, at \d\d:\d\d:\d\d", supervisor.text(), re.MULTILINE), name

        # The web server dies: it comes back and answers again; the worker is left alone.
        os.kill(second["web"], signal.SIGKILL)
        supervisor.wait_for(lambda: supervisor.pids()["web"] != second["web"], "web restarted", 20)
        supervisor.wait_for(lambda: _healthz(port) in (200, 503), "the new web server answers", 30)
        third = supervisor.pids()
        assert (third["worker"], third["beat"]) == (second["worker"], second["beat"])
        assert "shutting everything down" not in supervisor.text()

        # Ctrl-C stops everything: the children and their own children (the worker's pool).
        processes = [psutil.Process(pid) for pid in third.values()]
        processes += [child for proc in processes for child in proc.children(recursive=True)]
        process.send_signal(signal.SIGINT)
        assert process.wait(timeout=30) == 0, supervisor.text()[-3000:]
        _gone, alive = psutil.wait_procs(processes, timeout=5)
        assert not alive, f"still running after Ctrl-C: {alive}"
    finally:
        if process.poll() is None:
            for pid in supervisor.pids().values():
                with contextlib.suppress(ProcessLookupError, PermissionError):
                    os.killpg(pid, signal.SIGKILL)
            process.kill()
            process.wait()
        client = redis.Redis.from_url(settings.REDIS_URL)
        client.delete(queue, f"_kombu.binding.{queue}")
        client.close()
