"""Where the embedded PostgreSQL of `make run` and the tests is reached (standard library only:
`switchboard.dev` uses it before Django is set up, and settings use it without DATABASE_URL).

Over its Unix socket when it has one: on one machine a socket round trip costs both sides
less kernel time than TCP over loopback, and the first webhook of every call makes one
(docs/figures.md). The socket lives in a short directory under the system's temporary
directory, named after the data directory (a checkout's own path may exceed the 107 bytes a
socket path can hold); a server started before it had a socket is reached over TCP.
"""

from __future__ import annotations

import hashlib
import tempfile
from pathlib import Path
from urllib.parse import quote


def pg_socket_dir(data_dir: Path) -> Path:
    digest = hashlib.sha256(str(data_dir).encode()).hexdigest()[:12]
    return Path(tempfile.gettempdir()) / f"switchboard-pg-{digest}"


def pg_url(data_dir: Path, port: int, user: str = "postgres", database: str = "switchboard") -> str:
    socket_dir = pg_socket_dir(data_dir)
    if (socket_dir / f".s.PGSQL.{port}").exists():
        return f"postgres://{user}@{quote(str(socket_dir), safe='')}:{port}/{database}"
    return f"postgres://{user}@127.0.0.1:{port}/{database}"
