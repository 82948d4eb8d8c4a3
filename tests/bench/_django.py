"""Shared set-up for benchmarks: a throwaway database next to the one `make bench` started."""

from __future__ import annotations

import os
import statistics
import sys
from contextlib import contextmanager
from pathlib import Path
from urllib.parse import urlsplit, urlunsplit

ROOT = Path(__file__).resolve().parents[2]  # the repository
sys.path.insert(0, str(ROOT))


def _with_database(url: str, name: str) -> str:
    return urlunsplit(urlsplit(url)._replace(path="/" + name))


@contextmanager
def bench_database(name: str):
    """Create an empty database, point Django at it, migrate it; drop it afterwards."""
    import psycopg

    base = os.environ["DATABASE_URL"]
    admin_url = _with_database(base, "postgres").replace("postgres://", "postgresql://", 1)
    with psycopg.connect(admin_url, autocommit=True) as conn:
        conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
        conn.execute(f'CREATE DATABASE "{name}"')
    os.environ["DATABASE_URL"] = _with_database(base, name)
    os.environ.setdefault("DJANGO_SETTINGS_MODULE", "switchboard.settings")
    import django

    django.setup()
    from django.core.management import call_command
    from django.db import connections

    call_command("setup_platform", verbosity=0)
    try:
        yield
    finally:
        connections.close_all()
        with psycopg.connect(admin_url, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


def summary(samples: list[float]) -> str:
    ordered = sorted(samples)
    p90 = ordered[max(0, round(0.9 * len(ordered)) - 1)]
    return (f"n={len(samples)} median={statistics.median(samples) * 1000:.0f} ms "
            f"p90={p90 * 1000:.0f} ms max={ordered[-1] * 1000:.0f} ms")


def progress(done: int, total: int, label: str) -> None:
    width = 30
    filled = width * done // total
    sys.stderr.write(f"\r  {label} [{'#' * filled}{'.' * (width - filled)}] {done}/{total}")
    if done == total:
        sys.stderr.write("\n")
    sys.stderr.flush()


def free_port() -> int:
    import socket

    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def http_server(port: int, *, workers: str = "4", server: str | None = None) -> list[str]:
    """The command that serves HTTP the way the README runs production (``wsgi``: gunicorn's
    sync workers), or ``asgi``: uvicorn serving HTTP and WebSockets in one server."""
    server = server or os.getenv("BENCH_SERVER", "wsgi")
    if server == "wsgi":
        return [sys.executable, "-m", "gunicorn", "switchboard.wsgi:application", "--bind", f"127.0.0.1:{port}",
                "--workers", workers, "--worker-class", "sync"]
    return [sys.executable, "-m", "uvicorn", "switchboard.asgi:application", "--host", "127.0.0.1", "--port",
            str(port), "--workers", workers, "--proxy-headers", "--no-access-log", "--lifespan", "off"]


def wait_for_ping(port: int, timeout: float = 60) -> None:
    """Until the server on ``port`` answers GET /ping on the platform host."""
    import time
    import urllib.request

    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            urllib.request.urlopen(urllib.request.Request(f"http://127.0.0.1:{port}/ping",
                                                          headers={"Host": "localhost"}), timeout=1)
            return
        except Exception:
            time.sleep(0.2)
    raise RuntimeError(f"no server answered on port {port} within {timeout:.0f} s")
