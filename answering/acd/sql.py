"""The hot path's SQL: hand-written statements the ORM would make slower.

An arrival writes a call, its client's call record and Twilio's stored answer in one
statement (``arrival_sql``), and every move of a call rewrites the client's record in one
round trip (``record_upsert``). Tables are named from the models' ``_meta`` and with their
schema, because ``switchboard.db.fetchone_prepared`` leaves the search_path alone.
"""

from __future__ import annotations

import enum
import functools

from django.db import DEFAULT_DB_ALIAS, connection, connections, models
from django_tenants.utils import get_public_schema_name

from answering.acd.models import CallSession, TwilioRequest
from answering.models import CallRecord


@functools.cache
def arrival_sql(schema: str, session_columns: tuple[str, ...], record_columns: tuple[str, ...],
                 wait_for_disk: bool = True) -> str:
    # Every table named with its schema: db.fetchone_prepared leaves the search_path alone.
    quote = connection.ops.quote_name
    public = quote(get_public_schema_name())
    return (
        f"WITH answer AS (INSERT INTO {public}.{quote(TwilioRequest._meta.db_table)} "
        "(key, path, status, content_type, body, created) "
        "VALUES (%s, %s, 200, 'text/xml', %s, now()) ON CONFLICT (key) DO NOTHING RETURNING key), "
        f"call AS (INSERT INTO {public}.{quote(CallSession._meta.db_table)} ({', '.join(session_columns)}) "
        f"SELECT {', '.join(['%s'] * len(session_columns))} FROM answer ON CONFLICT (call_sid) DO NOTHING RETURNING id), "
        f"record AS (INSERT INTO {quote(schema)}.{quote(CallRecord._meta.db_table)} ({', '.join(record_columns)}) "
        f"SELECT {', '.join(['%s'] * len(record_columns))} FROM call ON CONFLICT (call_sid) DO NOTHING) "
        "SELECT (SELECT key FROM answer), (SELECT id FROM call)"
        # set_config(..., true): for this statement's own transaction only.
        + ("" if wait_for_disk else ", set_config('synchronous_commit', 'off', true) IS NULL"))


# Field types (exactly these: a subclass may convert, like PhoneNumberField) whose database
# value is the attribute itself — a str, int, bool, aware datetime or None. An arrival
# writes some forty columns, and Django's conversion chain per field was a tenth of the
# webhook's Python.
_PLAIN_FIELDS = frozenset({models.CharField, models.TextField, models.BooleanField, models.DateTimeField,
                           models.IntegerField, models.SmallIntegerField, models.BigIntegerField,
                           models.PositiveIntegerField, models.PositiveSmallIntegerField, models.ForeignKey})


@functools.cache
def _insertable(model) -> tuple[tuple[str, ...], tuple]:
    """The quoted columns of ``model`` a hand-written INSERT names (not its serial key), and
    for each its field, its attribute name, and whether its value goes in as it is."""
    fields = tuple(f for f in model._meta.concrete_fields if not f.primary_key)
    return (tuple(connection.ops.quote_name(f.column) for f in fields),
            tuple((f, f.attname, type(f) in _PLAIN_FIELDS) for f in fields))


def insert_values(model, values: dict) -> tuple[tuple[str, ...], list]:
    """Columns and database values for a hand-written INSERT of a ``model`` row: ``values``
    by attribute name (``agent_id``), the field's default for the others."""
    columns, fields = _insertable(model)
    database = connections[DEFAULT_DB_ALIAS]  # resolved once, not once per field through the proxy
    row = []
    for field, attname, plain in fields:
        value = values[attname] if attname in values else field.get_default()
        if not plain:
            value = field.get_db_prep_save(value, database)
        elif isinstance(value, enum.Enum):
            value = value.value  # a choices member (State.QUEUED): its plain str or int
        row.append(value)
    return columns, row


def record_upsert(schema: str, fields: dict, update_fields: list[str]) -> None:
    """INSERT ... ON CONFLICT (call_sid) DO UPDATE into the client's table, named with its
    schema: one round trip. (Through the ORM this needs the connection's search_path moved
    to the client's schema and back — two more round trips on every move of every call.)"""
    quote = connection.ops.quote_name
    columns, values = insert_values(CallRecord, fields)
    updates = [quote(CallRecord._meta.get_field(name).column) for name in update_fields]
    sql = (f"INSERT INTO {quote(schema)}.{quote(CallRecord._meta.db_table)} ({', '.join(columns)}) "
           f"VALUES ({', '.join(['%s'] * len(values))}) ON CONFLICT (call_sid) DO UPDATE SET "
           + ", ".join(f"{column} = EXCLUDED.{column}" for column in updates))
    with connection.cursor() as cursor:
        cursor.execute(sql, values)
