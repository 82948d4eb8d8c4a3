"""Every write to the records a report counts is counted, by the database, in the writer's own
transaction: a statement that inserts, updates or deletes call records, messages or outbound
attempts adds one to ``reports_recordchange`` for each 15-minute slot (UTC) its rows' times fall
in — old and new, so a call moved to another day changes both. Whatever the code path (ORM
``save()``, ``QuerySet.update()``, ``bulk_create``, raw SQL), a cached day whose changes no
longer sum to what they were when it was counted is counted again (``reports.cache``). TRUNCATE
drops the source's cached days outright.

The functions live in each client's schema (and travel with the template, like the ledger's).
They count in the written table's own schema: the usual statement names the change table
unqualified (planned once per session) when that schema is the search_path's first, else the
table is named through ``TG_TABLE_SCHEMA``.
Slots of 15 minutes: every time zone's midnight falls on one, so a local day is whole slots.
"""

from django.db import migrations

SOURCES = (("answering_callrecord", "inbound", "arrived_at"), ("answering_message", "messages", "created"),
           ("campaigns_callattempt", "outbound", "started_at"))

# The slot a row's time falls in, and one upsert of the slots a statement touched (in slot
# order: two writers touching the same slots take their row locks in one order).
SLOT = "to_timestamp(floor(extract(epoch FROM {column}) / 900) * 900)"
UPSERT = ("INSERT INTO {table} AS c (source, slot, changes) SELECT '{source}', s.slot, 1 FROM ({rows}) AS s"
          " WHERE s.slot IS NOT NULL ORDER BY s.slot ON CONFLICT (source, slot) DO UPDATE SET changes = c.changes + 1")


def _function(source: str, column: str) -> str:
    slot = SLOT.format(column=column)
    rows = {"INSERT": f"SELECT DISTINCT {slot} AS slot FROM new_rows",
            "DELETE": f"SELECT DISTINCT {slot} AS slot FROM old_rows",
            "UPDATE": f"SELECT {slot} AS slot FROM old_rows UNION SELECT {slot} FROM new_rows"}
    static = {op: UPSERT.format(table="reports_recordchange", source=source, rows=r) for op, r in rows.items()}
    dynamic = {op: UPSERT.format(table="%I.reports_recordchange", source=source, rows=r).replace("'", "''")
               for op, r in rows.items()}
    return f"""
CREATE OR REPLACE FUNCTION reports_count_change_{source}() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF TG_OP = 'TRUNCATE' THEN
        EXECUTE format('DELETE FROM %I.reports_daycounts WHERE source = %L', TG_TABLE_SCHEMA, '{source}');
        RETURN NULL;
    END IF;
    IF TG_TABLE_SCHEMA <> current_schema() THEN
        -- Written by its qualified name from another client's search_path: count it in its own
        -- schema (planned each time; the usual path below is planned once per session).
        EXECUTE format(CASE TG_OP WHEN 'INSERT' THEN '{dynamic["INSERT"]}' WHEN 'DELETE' THEN '{dynamic["DELETE"]}'
                       ELSE '{dynamic["UPDATE"]}' END, TG_TABLE_SCHEMA);
    ELSIF TG_OP = 'INSERT' THEN
        {static["INSERT"]};
    ELSIF TG_OP = 'DELETE' THEN
        {static["DELETE"]};
    ELSE
        {static["UPDATE"]};
    END IF;
    RETURN NULL;
END;
$$;
"""


def _triggers(table: str, source: str, column: str) -> str:
    function = f"reports_count_change_{source}()"
    return f"""
CREATE TRIGGER reports_change_insert AFTER INSERT ON {table} REFERENCING NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION {function};
CREATE TRIGGER reports_change_update AFTER UPDATE ON {table} REFERENCING OLD TABLE AS old_rows NEW TABLE AS new_rows
    FOR EACH STATEMENT EXECUTE FUNCTION {function};
CREATE TRIGGER reports_change_delete AFTER DELETE ON {table} REFERENCING OLD TABLE AS old_rows
    FOR EACH STATEMENT EXECUTE FUNCTION {function};
CREATE TRIGGER reports_change_truncate AFTER TRUNCATE ON {table}
    FOR EACH STATEMENT EXECUTE FUNCTION {function};
"""


FORWARD = "".join(_function(source, column) + _triggers(table, source, column) for table, source, column in SOURCES)
BACKWARD = "".join(f"DROP TRIGGER IF EXISTS reports_change_{op} ON {table};\n" for table, _, _ in SOURCES
                   for op in ("insert", "update", "delete", "truncate")) + \
    "".join(f"DROP FUNCTION IF EXISTS reports_count_change_{source}();\n" for _, source, _ in SOURCES)


class Migration(migrations.Migration):
    dependencies = [
        ("reports", "0001_day_counts"),
        ("answering", "0014_answeringsettings_short_abandon_seconds"),
        ("campaigns", "0004_lines_per_agent_6"),
    ]
    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
