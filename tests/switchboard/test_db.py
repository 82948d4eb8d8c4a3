"""switchboard.db: the arrival's statement without Django's per-request health check."""

from __future__ import annotations

import threading

import psycopg
import pytest
from django.db import OperationalError, connection, transaction

from switchboard import db


def _terminate_our_backend() -> None:
    """What a database restart does to an idle pooled connection."""
    pid = connection.connection.info.backend_pid
    settings = connection.settings_dict
    with psycopg.connect(host=settings["HOST"], port=settings["PORT"], user=settings["USER"],
                         password=settings["PASSWORD"] or None, dbname=settings["NAME"], autocommit=True) as other:
        other.execute("SELECT pg_terminate_backend(%s)", [pid])


def _in_a_thread(django_db_blocker, work):
    """Run ``work`` on a connection of its own, outside any test transaction (committed,
    like a web worker's), and return what it returned or raise what it raised."""
    outcome = {}

    def run():
        with django_db_blocker.unblock():
            try:
                outcome["value"] = work()
            except Exception as error:  # noqa: BLE001 - handed back to the test
                outcome["error"] = error
            finally:
                connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join(timeout=30)
    if "error" in outcome:
        raise outcome["error"]
    return outcome["value"]


def test_a_connection_lost_while_idle_is_reconnected_and_the_statement_runs(world, django_db_blocker, caplog):
    def work():
        connection.ensure_connection()
        before = connection.connection.info.backend_pid
        _terminate_our_backend()
        return before, db.fetchone_prepared("SELECT %s::int + 1", [41]), connection.connection.info.backend_pid

    before, row, after = _in_a_thread(django_db_blocker, work)
    assert row == (42,) and after != before
    assert "reconnecting" in caplog.text


def test_inside_a_transaction_a_lost_connection_is_an_error_not_a_silent_retry(world, django_db_blocker):
    # Retrying there would run the statement without what the transaction wrote before it.
    def work():
        with transaction.atomic():
            connection.ensure_connection()
            _terminate_our_backend()
            db.fetchone_prepared("SELECT 1", [])

    with pytest.raises(OperationalError):
        _in_a_thread(django_db_blocker, work)


@pytest.mark.django_db
def test_the_statement_is_prepared_once_per_connection():
    sql = "SELECT %s::text || 'x'"
    for value in ("a", "b", "c"):
        assert db.fetchone_prepared(sql, [value]) == (value + "x",)
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE %s", ["%|| 'x'%"])
        assert cursor.fetchone() == (1,)


@pytest.mark.django_db
def test_with_prepared_statements_off_nothing_is_prepared(settings):
    # Behind a pooler that cannot keep prepared statements (DB_PREPARED_STATEMENTS=0) the
    # statement is still bound on the server, but never prepared.
    settings.DB_PREPARED_STATEMENTS = False
    sql = "SELECT %s::text || 'unprepared'"
    for value in ("a", "b", "c"):
        assert db.fetchone_prepared(sql, [value]) == (value + "unprepared",)
        assert db.fetchone_prepared_here(sql, [value]) == (value + "unprepared",)
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_prepared_statements WHERE statement LIKE %s", ["%'unprepared'%"])
        assert cursor.fetchone() == (0,)
