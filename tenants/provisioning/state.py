"""A schema's migration state: a digest of the migrations its django_migrations records.

Two schemas with the same state have had the same migrations applied. django-tenants
records every app's migrations in every schema (those of shared apps as no-ops), so a
workspace whose state equals the freshly migrated template's has nothing to migrate.
"""

from core.db import connection
from tenants.provisioning.ddl import quote_ident

# Over the (app, name) pairs in a fixed order; when each ran does not matter.
_DIGEST = "md5(coalesce(string_agg(app || '.' || name, ',' ORDER BY app, name), ''))"

# Schemas read per query by schema_states: each table read takes a lock until the transaction
# ends, and PostgreSQL's lock table holds max_locks_per_transaction (64) x max_connections
# locks in all: 10,000 schemas in one statement ran out of it on default settings.
BATCH = 500


def schema_state(schema: str) -> str | None:
    """The state of one schema, None when it has no django_migrations table."""
    return schema_states([schema])[schema]


def schema_states(schemas: list[str]) -> dict[str, str | None]:
    """The state of each schema, read from its django_migrations (None: no such table).

    One query per BATCH schemas, plus one to find which have the table.
    """
    if not schemas:
        return {}
    states: dict[str, str | None] = dict.fromkeys(schemas)
    with connection().cursor() as cursor:
        cursor.execute(
            "SELECT n.nspname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE c.relname = 'django_migrations' AND c.relkind = 'r' AND n.nspname = ANY(%s)",
            [list(schemas)],
        )
        present = sorted(name for (name,) in cursor.fetchall())
        for start in range(0, len(present), BATCH):
            batch = present[start:start + BATCH]
            cursor.execute(" UNION ALL ".join(
                f"SELECT %s, {_DIGEST} FROM {quote_ident(schema)}.django_migrations" for schema in batch
            ), batch)
            states.update(cursor.fetchall())
    return states
