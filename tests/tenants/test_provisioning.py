"""Provisioning a client: schema cloned from the template, domain, numbers, defaults — or nothing."""

from __future__ import annotations

import pytest
from django.core.exceptions import ValidationError
from django.db import connection
from django_tenants.utils import schema_context, schema_exists

from answering.models import AnsweringSettings, KnowledgeFact
from tenants import services
from tenants.models import Client, Domain, PhoneNumber

pytestmark = pytest.mark.django_db


def _tables(schema: str) -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = %s", [schema])
        return {row[0] for row in cursor.fetchall()}


def test_it_provisions_schema_domain_numbers_and_defaults(world):
    client = services.client_provision(
        name="Dana's Dental", slug="danasdental", time_zone="America/Denver", languages=["en", "es"],
        numbers=[services.NumberSpec("(720) 555-0142"), services.NumberSpec("+17205550143", purpose="sms")],
    )
    assert client.schema_name == "danasdental"
    assert schema_exists("danasdental")
    assert client.domains.get().domain == "danasdental.localhost"
    assert client.domains.get().is_primary
    assert sorted(client.phone_numbers.values_list("number", "purpose")) == [
        ("+17205550142", "answering"), ("+17205550143", "sms")]
    with schema_context("danasdental"):
        assert AnsweringSettings.objects.get().greeting.startswith("Thank you for calling Dana's Dental")
        assert KnowledgeFact.objects.count() == 0


def test_the_clone_has_every_tenant_table_and_migration_record(world):
    services.client_provision(name="Eve's Electric", slug="eveselectric", time_zone="UTC")
    assert _tables("eveselectric") == _tables(services.TEMPLATE_SCHEMA)
    assert "answering_knowledgefact" in _tables("eveselectric")
    with connection.cursor() as cursor:
        cursor.execute('SELECT app, name FROM "eveselectric".django_migrations ORDER BY 1, 2')
        cloned = cursor.fetchall()
        cursor.execute(f'SELECT app, name FROM "{services.TEMPLATE_SCHEMA}".django_migrations ORDER BY 1, 2')
        assert cloned == cursor.fetchall()
    # No template data leaks into the clone: the only row is the new client's own settings.
    with schema_context("eveselectric"):
        assert AnsweringSettings.objects.count() == 1


def test_shared_tables_stay_out_of_client_schemas(world):
    assert "tenants_user" not in _tables("bobsplumbing")
    assert "django_session" not in _tables("bobsplumbing")


@pytest.mark.parametrize(
    ("field", "kwargs", "message"),
    [
        ("time_zone", {"time_zone": "Mars/Olympus_Mons"}, "not an IANA time zone"),
        ("slug", {"slug": "bobsplumbing"}, "is taken"),
        ("slug", {"slug": "Bad-Slug!"}, "not a valid slug"),
        ("slug", {"slug": "public"}, "reserved"),
        ("domain", {"domain": "bobsplumbing.localhost"}, "is taken"),
        ("domain", {"domain": "localhost"}, "platform's own host"),
        ("numbers[1]", {"numbers": [services.NumberSpec("12345")]}, "not a valid phone number"),
        ("numbers[1]", {"numbers": [services.NumberSpec("call me maybe")]}, "not a phone number"),
        ("numbers[1]", {"numbers": [services.NumberSpec("+12125550111")]}, "already belongs to Bob's Plumbing"),
        ("languages", {"languages": ["tlh"]}, "Unknown language"),
    ],
)
def test_bad_input_is_refused_clearly_and_leaves_nothing(world, field, kwargs, message):
    clients_before = Client.objects.count()
    args = {"name": "Frank's Flooring", "slug": "franksflooring", "time_zone": "America/New_York", **kwargs}
    with pytest.raises(ValidationError) as caught:
        services.client_provision(**args)
    assert any(message in text for text in caught.value.message_dict[field]), caught.value.message_dict
    assert Client.objects.count() == clients_before
    assert not schema_exists("franksflooring")
    assert not Domain.objects.filter(domain="franksflooring.localhost").exists()


def test_every_problem_is_reported_at_once(world):
    with pytest.raises(ValidationError) as caught:
        services.client_provision(
            name="", slug="x", time_zone="Nowhere", numbers=[services.NumberSpec("+1 999"), services.NumberSpec("")]
        )
    assert set(caught.value.message_dict) == {"name", "slug", "time_zone", "numbers[1]", "numbers[2]"}


def test_a_failure_midway_rolls_back_the_schema_too(world, monkeypatch):
    """The schema is DDL inside the same transaction: an error after the clone leaves no orphan."""
    import answering.services

    def explode(**kwargs):
        raise RuntimeError("disk full")

    monkeypatch.setattr(answering.services, "answering_settings_create_defaults", explode)
    with pytest.raises(RuntimeError):
        services.client_provision(name="Gina's Garage", slug="ginasgarage", time_zone="UTC",
                                  numbers=[services.NumberSpec("+12125550177")])
    assert not schema_exists("ginasgarage")
    assert not Client.objects.filter(schema_name="ginasgarage").exists()
    assert not PhoneNumber.objects.filter(number="+12125550177").exists()


def test_a_stale_template_is_migrated_before_cloning(world, monkeypatch):
    synced = []
    monkeypatch.setattr(services, "_template_known_current", False)
    monkeypatch.setattr(services, "template_schema_is_current", lambda: False)
    monkeypatch.setattr(services, "template_schema_sync", lambda **kw: synced.append(True))
    services.client_provision(name="Hal's HVAC", slug="halshvac", time_zone="UTC")
    assert synced == [True]


def test_the_template_is_current_after_setup(world):
    assert services.template_schema_is_current()


def _shape(schema: str) -> dict[str, list]:
    """Everything a schema's structure is made of, with the schema name taken out."""
    queries = {
        "columns": "SELECT table_name, column_name, data_type, is_nullable, is_identity FROM information_schema.columns "
                   "WHERE table_schema = %s ORDER BY 1, 2",
        "constraints": "SELECT c.relname, con.conname, con.contype, pg_get_constraintdef(con.oid) FROM pg_constraint con "
                       "JOIN pg_class c ON c.oid = con.conrelid WHERE con.connamespace = %s::regnamespace ORDER BY 1, 2",
        "indexes": "SELECT tablename, indexname, indexdef FROM pg_indexes WHERE schemaname = %s ORDER BY 1, 2",
        "triggers": "SELECT c.relname, t.tgname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
                    "WHERE c.relnamespace = %s::regnamespace AND NOT t.tgisinternal ORDER BY 1, 2",
        "functions": "SELECT proname FROM pg_proc WHERE pronamespace = %s::regnamespace ORDER BY 1",
    }
    shape = {}
    with connection.cursor() as cursor:
        for name, sql in queries.items():
            cursor.execute(sql, [schema])
            shape[name] = [tuple(str(v).replace(f'"{schema}".', "S.").replace(f"{schema}.", "S.") for v in row)
                           for row in cursor.fetchall()]
    return shape


def test_the_clone_has_the_templates_exact_shape(world):
    """Columns, identities, constraints (foreign keys too), indexes, triggers, functions."""
    services.client_provision(name="Lena's Locksmiths", slug="lenaslocks", time_zone="UTC")
    clone, template = _shape("lenaslocks"), _shape(services.TEMPLATE_SCHEMA)
    for part in template:  # part by part, naming what differs
        assert set(clone[part]) ^ set(template[part]) == set(), part
        assert clone[part] == template[part], part
    assert any(row[2] == "f" for row in clone["constraints"])  # foreign keys came along
    assert clone["triggers"]  # and the ledger's append-only triggers


def test_the_clones_identity_sequences_are_its_own(world):
    services.client_provision(name="Max's Movers", slug="maxsmovers", time_zone="UTC")
    with schema_context("maxsmovers"):
        KnowledgeFact.objects.create(title="First", body="x")
        fact = KnowledgeFact.objects.create(title="Second", body="y")
    with schema_context(services.TEMPLATE_SCHEMA):
        assert KnowledgeFact.objects.count() == 0
    with connection.cursor() as cursor:
        cursor.execute('SELECT max(id) FROM "maxsmovers".django_migrations')
        recorded = cursor.fetchone()[0]
        cursor.execute('INSERT INTO "maxsmovers".django_migrations (app, name, applied) VALUES (%s, %s, now()) '
                       'RETURNING id', ["test", "probe"])
        assert cursor.fetchone()[0] > recorded
    assert fact.pk == 2
