"""Real processes for tests: a Celery worker and an ASGI server on the test database.

They run as separate OS processes, exactly as in production, connected over real
Redis and PostgreSQL, so they only see committed data (the world, and what a test
commits on purpose).
"""

from __future__ import annotations

import os
import socket
import subprocess
import sys
import time
import uuid
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from django.conf import settings
from django.db import connection

ROOT = Path(__file__).resolve().parent.parent
ARTIFACTS = ROOT / "test-artifacts"  # screenshots from the browser tests
# One Celery queue of this test session's own, shared by the worker and the ASGI server, so
# tasks the server sends are run by this session's worker (and no one else's).
TEST_QUEUE = f"test-{uuid.uuid4().hex[:8]}"
# Short grace: a console that disconnects makes its agent away within a test's patience.
PROCESS_ENV = {"CELERY_QUEUE": TEST_QUEUE, "CONSOLE_GRACE_SECONDS": "1", "ACD_OFFER_TIMEOUT_SECONDS": "15"}


def _test_database_url() -> str:
    """DATABASE_URL pointed at the test database pytest-django created."""
    parts = urlsplit(settings.DATABASE_URL)
    return urlunsplit(parts._replace(path="/" + connection.settings_dict["NAME"]))


def _env(**extra: str) -> dict[str, str]:
    return {**os.environ, "DATABASE_URL": _test_database_url(), "PYTHONUNBUFFERED": "1", **PROCESS_ENV, **extra}


def _stop(process: subprocess.Popen) -> None:
    process.terminate()
    try:
        process.wait(timeout=10)
    except subprocess.TimeoutExpired:
        process.kill()
        process.wait()


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


@pytest.fixture(scope="session")
def celery_worker(django_db_setup, tmp_path_factory):
    """A real `celery worker` process consuming a queue of this test session's own."""
    from switchboard.celery import app

    queue = TEST_QUEUE
    log = tmp_path_factory.mktemp("celery") / "worker.log"
    previous_queue = app.conf.task_default_queue
    app.conf.task_default_queue = queue
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "celery", "-A", "switchboard", "worker", "--pool", "solo", "-Q", queue,
             "--hostname", f"{queue}@%h", "--loglevel", "INFO", "--without-gossip", "--without-mingle"],
            cwd=ROOT, env=_env(CELERY_QUEUE=queue), stdout=out, stderr=subprocess.STDOUT,
        )
    try:
        _wait_for(lambda: b"ready." in log.read_bytes(), process, log, "celery worker")
        yield process
    finally:
        _stop(process)
        app.conf.task_default_queue = previous_queue


@pytest.fixture(scope="session")
def asgi_server(django_db_setup, tmp_path_factory):
    """A real uvicorn process serving switchboard.asgi; yields its port."""
    port = free_port()
    log = tmp_path_factory.mktemp("asgi") / "server.log"
    with open(log, "wb") as out:
        process = subprocess.Popen(
            [sys.executable, "-m", "uvicorn", "switchboard.asgi:application", "--host", "127.0.0.1",
             "--port", str(port), "--lifespan", "off"],
            cwd=ROOT, env=_env(), stdout=out, stderr=subprocess.STDOUT,
        )
    try:
        _wait_for(lambda: _port_open(port), process, log, "ASGI server")
        yield port
    finally:
        _stop(process)


def _port_open(port: int) -> bool:
    with socket.socket() as sock:
        return sock.connect_ex(("127.0.0.1", port)) == 0


def _wait_for(ready, process: subprocess.Popen, log: Path, what: str, timeout: float = 30) -> None:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"{what} exited with {process.returncode}:\n{log.read_text()[-3000:]}")
        if ready():
            return
        time.sleep(0.1)
    raise RuntimeError(f"{what} not ready after {timeout}s:\n{log.read_text()[-3000:]}")


CHROMIUM = os.getenv("CHROMIUM", "/usr/bin/chromium")
CHROMIUM_ARGS = [
    # Flags for a closed network and a root user (see docs/testing.md).
    "--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--disable-dev-shm-usage",
]


@pytest.fixture(scope="session")
def browser():
    """Debian's Chromium driven by Playwright (no browser download)."""
    from playwright.sync_api import sync_playwright

    if not Path(CHROMIUM).exists():
        raise RuntimeError(f"Chromium not found at {CHROMIUM}; `make test` installs it (apt-get install chromium).")
    # Playwright's sync API runs an event loop on this thread; Django's ORM calls made by
    # the test itself are still synchronous and safe.
    os.environ["DJANGO_ALLOW_ASYNC_UNSAFE"] = "true"
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, headless=True, args=CHROMIUM_ARGS)
        try:
            yield chromium
        finally:
            chromium.close()


def solo_worker(queue: str, log: Path, *, beat: bool, schedule) -> subprocess.Popen:
    """A one-process Celery worker (with beat, if asked) on a queue of its own, with a fast
    outbox sweep and a short delivery lease: for the tests that kill a worker mid-send."""
    args = [sys.executable, "-m", "celery", "-A", "switchboard", "worker", "--pool", "solo", "-Q", queue,
            "--hostname", f"{uuid.uuid4().hex[:6]}@%h", "--loglevel", "INFO", "--without-gossip", "--without-mingle"]
    if beat:
        args += ["--beat", "--schedule", str(schedule)]
    out = open(log, "ab")
    process = subprocess.Popen(args, cwd=ROOT, stdout=out, stderr=subprocess.STDOUT,
                               env=_env(CELERY_QUEUE=queue, OUTBOX_SWEEP_SECONDS="1", DELIVERY_LEASE_SECONDS="2",
                                        ACD_SWEEP_SECONDS="60"))
    _wait_for(lambda: b"ready." in log.read_bytes(), process, log, "celery worker")
    return process


def gunicorn_servers(count: int, env: dict[str, str], log_dir: Path, *worker_args: str):
    """``count`` real gunicorn servers of the project, one worker each (``worker_args``: its class
    and threads), started with ``env``; yields their ports and stops them after. Tests that need
    several processes sharing Redis and PostgreSQL (rate limits, the key cache) use it."""
    ports, processes = [], []
    try:
        for n in range(count):
            port = free_port()
            log = log_dir / f"server-{n}.log"
            with open(log, "wb") as out:
                process = subprocess.Popen(
                    [sys.executable, "-m", "gunicorn", "switchboard.wsgi:application", "--bind", f"127.0.0.1:{port}",
                     "--workers", "1", *worker_args],
                    cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT)
            processes.append(process)
            _wait_for(lambda: _port_open(port), process, log, f"gunicorn {n}")
            ports.append(port)
        yield ports
    finally:
        for process in processes:
            _stop(process)
