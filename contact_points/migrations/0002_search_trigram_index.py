"""Trigram index for substring search of the directory, on PostgreSQL only.

The embedded default (SQLite) scans; PostgreSQL uses pg_trgm so that a search for a word
inside a name stays fast over tens of thousands of entries. pg_trgm is a trusted extension
(PostgreSQL 13+): the database owner may create it without superuser rights.
"""

from django.db import migrations

INDEX = "authority_search_text_trgm"


def create_index(apps, schema_editor):
    if schema_editor.connection.vendor != "postgresql":
        return
    schema_editor.execute("CREATE EXTENSION IF NOT EXISTS pg_trgm")
    schema_editor.execute(
        f"CREATE INDEX IF NOT EXISTS {INDEX} ON contact_points_authority "
        "USING gin (search_text gin_trgm_ops)"
    )


def drop_index(apps, schema_editor):
    if schema_editor.connection.vendor == "postgresql":
        schema_editor.execute(f"DROP INDEX IF EXISTS {INDEX}")


class Migration(migrations.Migration):
    dependencies = [("contact_points", "0001_initial")]

    operations = [migrations.RunPython(create_index, drop_index, elidable=False)]
