"""Workspace schemas from the template's script (tenants.provisioning), in the creating transaction."""

import pytest
from django.conf import settings
from django.core.management import call_command
from django.db import connection, transaction
from django_tenants.utils import schema_context

from core.errors import Conflict
from tenants.models import SchemaSnapshot, Workspace
from tenants.provisioning import catalog
from tenants.provisioning.ddl import Unsupported, schema_script
from tenants.provisioning.snapshot import current_snapshot, schema_provision
from tenants.provisioning.state import schema_state
from tenants.services import workspace_create

SCRATCH = "ws_scratch_migrated"


def _sql(statement: str, params=None):
    with connection.cursor() as cursor:
        cursor.execute(statement, params)
        return cursor.fetchall() if cursor.description else None


def _schema_exists(name: str) -> bool:
    return bool(_sql("SELECT 1 FROM pg_namespace WHERE nspname = %s", [name]))


def _migrated_from_scratch(schema: str) -> None:
    """A schema made the slow way: empty, then every migration run in it."""
    _sql(f'CREATE SCHEMA "{schema}"')
    call_command("migrate_schemas", schema_name=schema, interactive=False, verbosity=0)
    connection.set_schema_to_public()


def test_workspace_create_schema_is_identical_to_one_migrated_from_scratch():
    # given a workspace provisioned from the template's script, and a schema migrated from nothing
    workspace = workspace_create(name="Initech", slug="initech")
    _migrated_from_scratch(SCRATCH)

    # when their catalogs are compared
    provisioned = catalog.describe(workspace.schema_name)
    migrated = catalog.describe(SCRATCH)

    # then tables, columns, types, indexes, constraints, triggers, sequences and rows all agree
    assert catalog.differences(migrated, provisioned) == []
    assert {"auditing_auditevent", "django_migrations"} <= set(provisioned["rows"])
    # the raw usage table is partitioned by month (metering/migrations/0004): its partitions made too
    assert any(name.startswith("metering_usageevent_p") for name in provisioned["rows"])
    assert ("auditing_auditevent", "tollgate_audit_guard") in provisioned["triggers"]  # auditing/migrations/0002
    assert len(provisioned["rows"]["django_migrations"]) > 20
    assert provisioned["sequence positions"]["django_content_type_id_seq"][0] == len(
        provisioned["rows"]["django_content_type"])


def test_catalog_differences_name_what_a_schema_lacks():
    # given two workspaces, one of which lost an index, a trigger and a migration record
    first = workspace_create(name="Initech", slug="initech")
    second = workspace_create(name="Hooli", slug="hooli")
    _sql(f'DROP INDEX "{second.schema_name}".metering_usageevent_occurred_at_9796f305')
    _sql(f'DROP TRIGGER tollgate_audit_guard ON "{second.schema_name}".auditlog_logentry')
    _sql(f"DELETE FROM \"{second.schema_name}\".django_migrations WHERE app = 'auditing' AND name = '0002_chain_guard'")

    # when compared
    found = catalog.differences(catalog.describe(first.schema_name), catalog.describe(second.schema_name))

    # then each loss is named
    assert any("metering_usageevent_occurred_at_9796f305" in line and "missing" in line for line in found)
    assert any("'auditlog_logentry', 'tollgate_audit_guard'" in line for line in found)
    assert any(line.startswith("rows: 'django_migrations'") for line in found)


def test_workspace_create_schema_is_usable_and_guarded():
    # when
    workspace = workspace_create(name="Initech", slug="initech")
    # then its audit trail holds its first event and refuses changes like a migrated one
    from auditing.models import AuditEvent
    from auditing.services import record

    record(action="domain_added", workspace=workspace, details={"domain": "api.initech.test"})
    with schema_context(workspace.schema_name):
        assert AuditEvent.objects.count() == 1
        with pytest.raises(Exception, match="append-only"), transaction.atomic():
            AuditEvent.objects.update(action="tampered")


def test_workspace_create_records_the_migration_state_it_was_made_at():
    # when
    workspace = workspace_create(name="Initech", slug="initech")
    # then the row carries the state its schema really is at, the template's
    assert workspace.schema_state == schema_state(workspace.schema_name) == schema_state(settings.TENANT_BASE_SCHEMA)
    assert Workspace.objects.get(pk=workspace.pk).schema_state == workspace.schema_state


def test_workspace_create_leaves_nothing_when_its_transaction_rolls_back():
    # given a signup-like transaction that fails after the workspace was made
    with pytest.raises(RuntimeError, match="later step failed"), transaction.atomic():
        workspace_create(name="Initech", slug="initech")
        assert _schema_exists("ws_initech")
        raise RuntimeError("a later step failed")
    # then neither the row nor the schema is left
    assert not Workspace.objects.filter(slug="initech").exists()
    assert not _schema_exists("ws_initech")


def test_workspace_create_refuses_a_slug_whose_schema_exists_without_a_workspace():
    # given a schema left behind by a row deleted some other way than workspace_delete
    _sql('CREATE SCHEMA "ws_initech"')
    _sql('CREATE TABLE "ws_initech".kept (id int)')
    # when
    with pytest.raises(Conflict, match="taken"):
        workspace_create(name="Initech", slug="initech")
    # then nothing was made, and the data found there was not touched
    assert not Workspace.objects.filter(slug="initech").exists()
    assert _sql("SELECT count(*) FROM ws_initech.kept") == [(0,)]


def test_current_snapshot_follows_a_new_template_state():
    # given the template moved on (a migration recorded in it after the last snapshot)
    before = current_snapshot()
    _sql(f"INSERT INTO \"{settings.TENANT_BASE_SCHEMA}\".django_migrations (app, name, applied) "
         "VALUES ('tenants', '9999_test_only', now())")

    # when a workspace is created
    workspace = workspace_create(name="Initech", slug="initech")

    # then a snapshot for the new state was made (and replaced the old), and the workspace has that state
    after = current_snapshot()
    assert after.state != before.state
    assert list(SchemaSnapshot.objects.values_list("state", flat=True)) == [after.state]
    assert workspace.schema_state == after.state == schema_state(workspace.schema_name)
    assert ("tenants.9999_test_only",) in [
        (f"{app}.{name}",) for app, name in catalog.describe(workspace.schema_name)["rows"]["django_migrations"]]


def test_schema_script_refuses_a_schema_holding_what_it_cannot_recreate():
    # given a schema with a table and a view over it
    _sql('CREATE SCHEMA "ws_odd"')
    _sql('CREATE TABLE "ws_odd".t (id int)')
    _sql('CREATE VIEW "ws_odd".v AS SELECT id FROM "ws_odd".t')
    # when / then
    with pytest.raises(Unsupported, match="view v"):
        schema_script("ws_odd")


def test_schema_script_recreates_columns_defaults_checks_and_rows_exactly():
    # given a schema with what migrations may make beyond the template's usual tables
    _sql('CREATE SCHEMA "ws_odd"')
    _sql("""
        CREATE SEQUENCE "ws_odd".counter START 5;
        CREATE TABLE "ws_odd"."Mixed Case" (
            id bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
            n int NOT NULL DEFAULT nextval('"ws_odd".counter') CHECK (n > 0),
            label text COLLATE "C" DEFAULT 'it''s',
            twice int GENERATED ALWAYS AS (n * 2) STORED,
            doc jsonb,
            UNIQUE (label, n)
        );
        ALTER SEQUENCE "ws_odd".counter OWNED BY "ws_odd"."Mixed Case".n;
        COMMENT ON TABLE "ws_odd"."Mixed Case" IS 'a table''s comment';
        COMMENT ON COLUMN "ws_odd"."Mixed Case".doc IS 'json';
        CREATE INDEX partial ON "ws_odd"."Mixed Case" (lower(label)) WHERE n > 10;
        INSERT INTO "ws_odd"."Mixed Case" (label, doc) VALUES ('a', '{"k": "v''s"}'), (NULL, NULL);
    """)
    script = schema_script("ws_odd")

    # when it is replayed into another schema
    schema_provision(schema_name="ws_odd_copy", snapshot=SchemaSnapshot(state="test", sql=script.sql,
                                                                         statements=script.statements))

    # then the copy is the same
    assert catalog.differences(catalog.describe("ws_odd"), catalog.describe("ws_odd_copy")) == []
    assert _sql('SELECT n, label, twice FROM "ws_odd_copy"."Mixed Case" ORDER BY n') == [(5, "a", 10), (6, None, 12)]


def test_workspace_schemas_hold_no_foreign_key_to_public_tables():
    # given the template and a workspace made from it
    workspace = workspace_create(name="Initech", slug="initech")
    # when their foreign keys are listed
    script = schema_script(settings.TENANT_BASE_SCHEMA)
    keys = {key: kind_def for key, kind_def in catalog.describe(workspace.schema_name)["constraints"].items()
            if kind_def[0] == "f"}
    # then none points outside the schema: making one would lock, and add triggers to, a public
    # table shared by every workspace (auditing/migrations/0003)
    assert script.referenced == ()
    assert current_snapshot().referenced == []
    assert keys == {("auditlog_logentry", "auditlog_logentry_content_type_id_75830218_fk_django_co"): (
        "f", "FOREIGN KEY (content_type_id) REFERENCES django_content_type(id) DEFERRABLE INITIALLY DEFERRED",
        True, True, True)}
    # and in public, beside the user table, the history keeps its key to it
    assert any("REFERENCES accounts_user(id)" in d for _, d, *_ in catalog.describe("public")["constraints"].values())
