"""On PostgreSQL, refuse UPDATE and DELETE on the audit trail at the database itself.

The hash chains detect a change made past this trigger (by someone who can disable it);
the trigger stops the ordinary ways of making one.
"""

from django.db import migrations

FUNCTION = """
CREATE OR REPLACE FUNCTION mla_audit_append_only() RETURNS trigger AS $$
BEGIN
    RAISE EXCEPTION USING MESSAGE = 'the audit trail is append-only (' || TG_OP || ' refused)';
END;
$$ LANGUAGE plpgsql;
"""
TRIGGER = """
CREATE TRIGGER mla_audit_append_only
BEFORE UPDATE OR DELETE ON mla_requests_auditentry
FOR EACH ROW EXECUTE FUNCTION mla_audit_append_only();
"""


def forwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(FUNCTION)
        schema_editor.execute(TRIGGER)


def backwards(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute("DROP TRIGGER IF EXISTS mla_audit_append_only ON mla_requests_auditentry")
        schema_editor.execute("DROP FUNCTION IF EXISTS mla_audit_append_only()")


class Migration(migrations.Migration):
    dependencies = [("mla_requests", "0002_audit_trail")]

    operations = [migrations.RunPython(forwards, backwards, elidable=False)]
