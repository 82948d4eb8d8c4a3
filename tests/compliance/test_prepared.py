"""The gate's statements are prepared as switchboard.db prepares the ACD's: only when
DB_PREPARED_STATEMENTS says so (0 behind a pooler that cannot keep them)."""

from __future__ import annotations

import pytest
from django.db import connection

from compliance.models import LedgerEntry

from .conftest import NY

pytestmark = pytest.mark.django_db

# The gate's two prepared statements: the facts query and the ledger INSERT.
GATE_STATEMENTS = ("%WITH input AS (%", f"%INSERT INTO {LedgerEntry._meta.db_table}%")


def _gate_statements_prepared() -> list[str]:
    """The gate's statements PostgreSQL holds prepared on this connection (this session)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT statement FROM pg_prepared_statements WHERE statement LIKE ANY (%s) ORDER BY statement",
                       [list(GATE_STATEMENTS)])
        return [row[0] for row in cursor.fetchall()]


def test_with_prepared_statements_off_the_gate_prepares_nothing(world, registry, decide, settings):
    settings.DB_PREPARED_STATEMENTS = False
    decision = decide(world.bobs, NY)
    assert decision.allowed, decision
    assert decide(world.bobs, "12345").codes == {"number_invalid"}  # the ledger INSERT alone
    assert _gate_statements_prepared() == []


def test_with_prepared_statements_on_the_gate_prepares_its_facts_query_and_ledger_insert(
        world, registry, decide, settings):
    settings.DB_PREPARED_STATEMENTS = True
    for _ in range(2):
        assert decide(world.bobs, NY).allowed
    statements = _gate_statements_prepared()
    assert len(statements) == 2, statements
    assert "WITH input AS (" in statements[1] and f"INSERT INTO {LedgerEntry._meta.db_table}" in statements[0]
