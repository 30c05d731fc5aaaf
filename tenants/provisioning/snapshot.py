"""The template's script, kept per migration state, and its replay into a new schema.

A snapshot is made once per migration state of the template (by migrate_schemas right after
it migrates the template, or by the first provisioning that finds none for the template's
present state), and checked then: replayed into a scratch schema, whose catalog must equal
the template's (catalog.py), inside a savepoint rolled back afterwards. Provisioning a
workspace then costs one query to fetch the script and one round trip to replay it, whatever
the number of workspaces: CREATE SCHEMA, the script with the new schema first on the
search_path, and the path set back, all in the caller's transaction.
"""

import logging

from django.conf import settings
from django.db import DatabaseError, transaction
from django.db.models.expressions import RawSQL
from django_tenants.utils import get_public_schema_name

from core.db import connection
from tenants.models import SchemaSnapshot
from tenants.provisioning import catalog
from tenants.provisioning.ddl import quote_ident, quote_literal, schema_script
from tenants.provisioning.state import _DIGEST, schema_state

logger = logging.getLogger(__name__)

# Where a new script is tried out before it is kept; never committed.
CHECK_SCHEMA = "tollgate_snapshot_check"


class SnapshotMismatch(Exception):
    """A script replayed into a scratch schema did not recreate the template."""


def template_schema() -> str:
    return settings.TENANT_BASE_SCHEMA


def current_snapshot() -> SchemaSnapshot:
    """The script for the template's present migration state (one query), made now if there is none.

    Raises ddl.Unsupported or SnapshotMismatch when the template can't be written out
    exactly; django.db.ProgrammingError when there is no template schema (migrate_schemas
    makes it: without it the deployment was never migrated).
    """
    # The schema name is the TENANT_BASE_SCHEMA setting, quoted; nothing here comes from a user.
    template_state = RawSQL(f"SELECT {_DIGEST} FROM {quote_ident(template_schema())}.django_migrations", ())  # noqa: S611
    found = SchemaSnapshot.objects.filter(state=template_state).first()
    return found if found is not None else snapshot_refresh()


def snapshot_refresh() -> SchemaSnapshot:
    """Write the template out for its present migration state, check it, keep it (and only it).

    Serialised by an advisory lock: concurrent callers wait for the first and use its
    snapshot. Raises what current_snapshot raises.
    """
    with transaction.atomic(), connection().cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(hashtext('tenants.schema_snapshot'))")
        state = schema_state(template_schema())
        if state is None:
            raise LookupError(f"no template schema {template_schema()!r}: run migrate_schemas")
        existing = SchemaSnapshot.objects.filter(state=state).first()
        if existing is not None:
            return existing
        script = schema_script(template_schema())
        _check(script.sql)
        SchemaSnapshot.objects.exclude(state=state).delete()
        snapshot = SchemaSnapshot.objects.create(state=state, sql=script.sql, statements=script.statements,
                                                 referenced=list(script.referenced))
    logger.info("template schema written out at state %s: %s statements", state, script.statements)
    return snapshot


def _check(sql: str) -> None:
    """Replay `sql` into CHECK_SCHEMA and compare it with the template; nothing is kept."""
    sid = transaction.savepoint()
    try:
        _replay(CHECK_SCHEMA, sql)
        problems = catalog.differences(catalog.describe(template_schema()), catalog.describe(CHECK_SCHEMA))
    except DatabaseError as exc:
        problems = [f"replaying it failed: {exc}"]
    finally:
        transaction.savepoint_rollback(sid)
    if problems:
        raise SnapshotMismatch(
            f"the script made from {template_schema()!r} does not recreate it: " + "; ".join(problems[:20]))


def provisioning_lock(snapshot: SchemaSnapshot) -> None:
    """Lock, until the transaction ends, the public tables the new schema's foreign keys
    will reference (SHARE ROW EXCLUSIVE, which making a foreign key takes anyway).

    A transaction that provisions must hold this before it writes to those tables. When the
    template's auditlog_logentry.actor_id still referenced public.accounts_user, two signups
    that had each inserted their user (ROW EXCLUSIVE) and then both asked for this lock to
    make the key deadlocked (most of 20 signups sent at once failed so). Taken first,
    signups queue on it instead. Since auditing/migrations/0003 the template references no
    other schema and this takes nothing; it stays for any key a later migration adds.
    """
    if snapshot.referenced:
        with connection().cursor() as cursor:
            cursor.execute(f"LOCK TABLE {', '.join(snapshot.referenced)} IN SHARE ROW EXCLUSIVE MODE")


def schema_provision(*, schema_name: str, snapshot: SchemaSnapshot) -> None:
    """Create `schema_name` as the template was in `snapshot`: tables, indexes, constraints,
    triggers, rows, sequences. One round trip, in the caller's transaction (required): when
    that transaction rolls back, nothing of the schema is left.

    Raises django.db.ProgrammingError (duplicate_schema) when the schema exists.
    """
    if not connection().in_atomic_block:
        raise RuntimeError("schema_provision runs inside the transaction that creates the workspace")
    provisioning_lock(snapshot)
    _replay(schema_name, snapshot.sql)
    # The PostgreSQL backend that ran the DDL keeps the new relations in its caches for the rest
    # of its life (~40 KB a workspace, measured on PostgreSQL 18): a web worker's long-lived
    # connection that provisioned one workspace after another would only grow. It is closed
    # once the work commits; the worker's next query opens a fresh one (a few ms).
    transaction.on_commit(_release_connection)


def _release_connection() -> None:
    held = connection()
    if not held.in_atomic_block:  # a test running the callbacks inside its own transaction
        held.close()


def _replay(schema_name: str, sql: str) -> None:
    # The path is put back server-side (a custom setting holds it meanwhile): django-tenants
    # sets search_path only when it thinks it changed, so it must end as it started.
    path = quote_literal(f"{quote_ident(schema_name)}, {quote_ident(get_public_schema_name())}")
    with connection().cursor() as cursor:
        cursor.execute(
            "SELECT set_config('tollgate.search_path', current_setting('search_path'), true);\n"
            f"CREATE SCHEMA {quote_ident(schema_name)};\n"
            f"SELECT set_config('search_path', {path}, true);\n"
            + sql
            + "SELECT set_config('search_path', current_setting('tollgate.search_path'), true);\n"
        )
