"""The audit ledger is append-only, and the database — not the code — says so, in every schema."""

from __future__ import annotations

import pytest
from django.db import DatabaseError, connection, transaction
from django_tenants.utils import schema_context, tenant_context

from compliance.models import LedgerEntry
from tenants import services

from .conftest import NY

pytestmark = pytest.mark.django_db


@pytest.mark.parametrize("statement", [
    "UPDATE compliance_ledgerentry SET outcome = 'allow'",
    "DELETE FROM compliance_ledgerentry",
    "TRUNCATE compliance_ledgerentry",
])
def test_the_ledger_refuses_updates_deletes_and_truncation(world, registry, decide, statement):
    decision = decide(world.bobs, NY)
    with tenant_context(world.bobs):
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("SET CONSTRAINTS ALL IMMEDIATE")  # no pending FK checks, so TRUNCATE reaches the trigger
            cursor.execute(statement)
        assert LedgerEntry.objects.get(pk=decision.ledger_id).outcome == "allow"


def test_the_orm_cannot_rewrite_history_either(world, registry, decide):
    decision = decide(world.bobs, NY)
    with tenant_context(world.bobs):
        entry = LedgerEntry.objects.get(pk=decision.ledger_id)
        entry.outcome = "deny"
        with pytest.raises(DatabaseError), transaction.atomic():
            entry.save()
        with pytest.raises(DatabaseError), transaction.atomic():
            entry.delete()


def test_every_clients_schema_and_the_template_carry_the_trigger(world):
    for schema in ("bobsplumbing", "charlieclinic", "template_client"):
        with schema_context(schema), connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
                           "JOIN pg_namespace n ON n.oid = c.relnamespace "
                           "WHERE n.nspname = %s AND c.relname = 'compliance_ledgerentry' AND NOT t.tgisinternal",
                           [schema])
            assert cursor.fetchone()[0] == 2, schema


def test_a_newly_provisioned_clients_ledger_is_append_only_too(world):
    client = services.client_provision(name="Dora's Dental", slug="dorasdental", time_zone="America/Denver")
    with tenant_context(client):
        LedgerEntry.objects.create(at="2025-06-03T12:00Z", number=NY, asked_by="tests")
        with pytest.raises(DatabaseError, match="append-only"), transaction.atomic(), connection.cursor() as cursor:
            cursor.execute("DELETE FROM compliance_ledgerentry")
