"""How the embedded PostgreSQL is reached: its Unix socket when it has one, else TCP."""

from __future__ import annotations

import socket

import dj_database_url

from switchboard import embedded


def test_the_socket_is_used_when_the_server_has_one(tmp_path):
    data_dir = tmp_path / "a" / ("deep" * 30) / "postgres"  # far beyond what a socket path may hold
    socket_dir = embedded.pg_socket_dir(data_dir)
    assert len(str(socket_dir / ".s.PGSQL.65535")) < 108
    assert embedded.pg_url(data_dir, 5432) == "postgres://postgres@127.0.0.1:5432/switchboard"

    socket_dir.mkdir()
    try:
        with socket.socket(socket.AF_UNIX) as listener:
            listener.bind(str(socket_dir / ".s.PGSQL.5432"))
            url = embedded.pg_url(data_dir, 5432, database="other")
            parsed = dj_database_url.parse(url)
            assert (parsed["HOST"], parsed["PORT"], parsed["NAME"]) == (str(socket_dir), 5432, "other")
            assert embedded.pg_url(data_dir, 5433) == "postgres://postgres@127.0.0.1:5433/switchboard"
    finally:
        (socket_dir / ".s.PGSQL.5432").unlink(missing_ok=True)
        socket_dir.rmdir()


def test_each_data_directory_has_its_own_socket_directory(tmp_path):
    assert embedded.pg_socket_dir(tmp_path / "one") != embedded.pg_socket_dir(tmp_path / "two")
    assert embedded.pg_socket_dir(tmp_path / "one") == embedded.pg_socket_dir(tmp_path / "one")
