"""Workspace schemas whose cost does not grow with the number of workspaces (DESIGN.md,
"Workspace provisioning"; issue 20).

django-tenants' clone_schema reinstalled pg-clone-schema and scanned pg_catalog on every
call: 0.5 s with no other workspace, 2.7 s with 223, and a web worker's connection grew to
~680 MB after 150 clones. Instead:

- ddl.py writes the template schema (settings.TENANT_BASE_SCHEMA, kept migrated by
  migrate_schemas) out as one SQL script, once per migration state: tables, sequences,
  constraints, indexes, triggers, and the rows the template holds (django_migrations,
  content types, anything a migration seeded), with the sequences where the template has them.
- snapshot.py keeps that script in the public schema (SchemaSnapshot, keyed by the template's
  migration state), checks it once when it is made (replayed into a scratch schema whose
  catalog must equal the template's, catalog.py), and replays it for a new workspace in one
  round trip inside the signup's transaction: a failure leaves nothing behind.
- state.py names a schema's migration state (a digest of its django_migrations rows), which
  migrate_schemas compares in one query to skip every schema already at the latest.
"""
