"""Custom migration operations."""

from __future__ import annotations

from django.db import migrations


class RequireVectorExtension(migrations.RunSQL):
    """``CREATE EXTENSION vector``, failing with a message that says what to do when the
    server does not have pgvector (instead of a bare 'could not open extension control file')."""

    def __init__(self):
        super().__init__(
            sql="CREATE EXTENSION IF NOT EXISTS vector", reverse_sql=migrations.RunSQL.noop
        )

    def database_forwards(self, app_label, schema_editor, from_state, to_state):
        with schema_editor.connection.cursor() as cur:
            cur.execute("SELECT 1 FROM pg_available_extensions WHERE name = 'vector'")
            available = cur.fetchone() is not None
        if not available:
            from django.core.exceptions import ImproperlyConfigured

            raise ImproperlyConfigured(
                "This PostgreSQL server has no 'vector' extension (pgvector). Aisle stores embeddings with it: "
                "install pgvector on the server (e.g. image pgvector/pgvector:pg16 or package postgresql-16-pgvector), "
                "or unset DATABASE_URL to use the embedded server."
            )
        super().database_forwards(app_label, schema_editor, from_state, to_state)

    def deconstruct(self):
        return (self.__class__.__qualname__, [], {})
