"""The audit ledger is append-only: the database itself refuses UPDATE, DELETE and TRUNCATE.

The function and triggers are created in each client's schema (the first entry of the
search_path while tenant migrations run), and travel with the template when a new
client's schema is cloned from it.
"""

from django.db import migrations

FORWARD = """
CREATE OR REPLACE FUNCTION compliance_ledger_refuse_change() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'the compliance audit ledger is append-only: % refused', TG_OP
        USING ERRCODE = 'insufficient_privilege';
END;
$$;
CREATE TRIGGER compliance_ledger_no_update_delete
    BEFORE UPDATE OR DELETE ON compliance_ledgerentry
    FOR EACH ROW EXECUTE FUNCTION compliance_ledger_refuse_change();
CREATE TRIGGER compliance_ledger_no_truncate
    BEFORE TRUNCATE ON compliance_ledgerentry
    FOR EACH STATEMENT EXECUTE FUNCTION compliance_ledger_refuse_change();
"""

BACKWARD = """
DROP TRIGGER IF EXISTS compliance_ledger_no_truncate ON compliance_ledgerentry;
DROP TRIGGER IF EXISTS compliance_ledger_no_update_delete ON compliance_ledgerentry;
DROP FUNCTION IF EXISTS compliance_ledger_refuse_change();
"""


class Migration(migrations.Migration):
    dependencies = [("compliance", "0001_initial")]
    operations = [migrations.RunSQL(FORWARD, BACKWARD)]
