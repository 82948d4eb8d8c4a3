"""One statement on the hottest path, without Django's per-request preliminaries.

The first webhook of every call is a single statement (``acd.call_arrive``). Through
``connection.cursor()`` it costs three round trips — Django's health check (``SELECT 1``)
and django-tenants' ``SET search_path`` come first on every request — and PostgreSQL
parses and plans it anew each time, because Django binds parameters on the client. Run
here, it is one round trip and a plan the connection keeps (measured in docs/figures.md:
PostgreSQL's CPU per arrival about halves).

``fetchone_prepared_here`` is the project's one way to prepare a statement: the
compliance gate's facts query and ledger INSERT go through it too, so
``DB_PREPARED_STATEMENTS=0`` (behind a pooler that cannot keep prepared statements)
turns preparing off everywhere.
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Mapping, Sequence

import psycopg
from django.conf import settings
from django.db import InterfaceError, OperationalError, connection, connections

logger = logging.getLogger(__name__)
NEVER_BY_ITSELF = 2**31 - 1  # psycopg's count of executions before it prepares a statement unasked
# What a database that cannot be reached raises (a pool that cannot lend a connection too:
# psycopg_pool's PoolTimeout is an OperationalError). Any other DatabaseError is a bug.
UNREACHABLE = (OperationalError, InterfaceError)

# --- Outages: give up at once while the database is known to be down -----------------------
# One process's knowledge: set by a request that could not reach the database, cleared by a
# background check (never a caller's request) that reaches it again. A caller's first webhook
# asks it first and, while the database is down, answers without trying (answering/views.py).
_down_since: float | None = None
_checked_at = 0.0
_check_lock = threading.Lock()


def database_down() -> bool:
    """Whether this process last found the database unreachable. While it is, at most one
    background check every DB_OUTAGE_RECHECK_SECONDS tries to connect again."""
    if _down_since is None:
        return False
    _check_soon()
    return _down_since is not None


def database_unreachable(exc: BaseException) -> None:
    """A request could not reach the database: later ones give up at once until it is back."""
    global _down_since, _checked_at
    if _down_since is None:
        logger.error("database unreachable (%s): answering callers without it until it is back",
                     str(exc).strip().splitlines()[0][:200] if str(exc).strip() else type(exc).__name__)
        _down_since = _checked_at = time.monotonic()


def _check_soon() -> None:
    global _checked_at
    now = time.monotonic()
    if now - _checked_at < settings.DB_OUTAGE_RECHECK_SECONDS or not _check_lock.acquire(blocking=False):
        return
    _checked_at = now
    threading.Thread(target=_check, name="database-outage-check", daemon=True).start()


def _check() -> None:
    """In its own thread (so its own connection): connect, run a statement, and say so."""
    global _down_since
    try:
        with connection.cursor() as cursor:
            cursor.execute("SELECT 1")
        if _down_since is not None:
            logger.warning("database reachable again after %.1f s", time.monotonic() - _down_since)
        _down_since = None
    except UNREACHABLE:
        pass
    finally:
        connections.close_all()
        _check_lock.release()


def fetchone_prepared(sql: str, params: Sequence) -> tuple | None:
    """Run ``sql`` as a server-side prepared statement on Django's connection (inside the
    caller's transaction, if any) and return its first row.

    ``sql`` must name every table with its schema (the search_path is whatever the last
    request left) and be safe to run twice: without the health check, a connection that
    died while idle (a database restart) fails the statement, and outside a transaction
    it is reconnected and the statement run once more."""
    connection.ensure_connection()
    for attempt in (1, 2):
        try:
            return fetchone_prepared_here(sql, params)
        except OperationalError:
            if attempt == 2 or connection.in_atomic_block or not connection.connection.broken:
                raise
            logger.warning("database connection was lost while idle; reconnecting")
            connection.close()
            connection.ensure_connection()
    raise AssertionError("unreachable")


def fetchone_prepared_here(sql: str, params: Sequence | Mapping[str, object]) -> tuple | None:
    """Run ``sql`` on Django's open connection as it stands — its search_path, its
    transaction; nothing reconnects — bound on the server, and return its first row.

    The one way this project prepares a statement (``fetchone_prepared`` above and the
    compliance gate both come here): prepared, and kept by the connection, when
    ``DB_PREPARED_STATEMENTS`` is on; with it off (a pooler that cannot keep them),
    nothing is prepared."""
    return _prepared_here(sql, params, lambda cursor: cursor.fetchone())


def fetchall_prepared_here(sql: str, params: Sequence | Mapping[str, object]) -> list[tuple]:
    """``fetchone_prepared_here``, every row (a batch fed as arrays: one plan for any size)."""
    return _prepared_here(sql, params, lambda cursor: cursor.fetchall())


def _prepared_here(sql: str, params, fetch):
    raw = connection.connection
    if raw.prepare_threshold is None and settings.DB_PREPARED_STATEMENTS:
        # Django turns psycopg's prepared statements off for every query (for connection
        # poolers); its own cursors bind on the client and never prepare anyway. Turned
        # back on here, only statements run through this function are prepared, and
        # only when asked to.
        raw.prepare_threshold = NEVER_BY_ITSELF
    with connection.wrap_database_errors, psycopg.Cursor(raw) as cursor:
        cursor.execute(sql, params, prepare=settings.DB_PREPARED_STATEMENTS)
        return fetch(cursor)
