"""migrate_schemas over committed workspaces: those at the latest state skipped in one query,
the others migrated in parallel processes (which see only committed rows, hence tests/live)."""

from io import StringIO

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import connection
from django.db.migrations.loader import MigrationLoader
from django.test.utils import CaptureQueriesContext

from tenants.models import Workspace
from tenants.provisioning.state import schema_state
from tenants.services import workspace_create

# A migration every schema records and that changes nothing in a workspace's schema
# (tenants is a shared app): forgetting it puts a workspace behind harmlessly. The app's
# latest, so nothing recorded after it depends on it.
HARMLESS = MigrationLoader(None, ignore_no_migrations=True).graph.leaf_nodes("tenants")[0]
# Metering's latest migration, forgotten by a schema whose tables have it: run again, it fails
# ("already exists"). Its latest, not its first: forgetting an early one while later ones stay
# applied is an inconsistent history Django refuses before running anything.
BREAKS = MigrationLoader(None, ignore_no_migrations=True).graph.leaf_nodes("metering")[0]


@pytest.fixture
def make_workspaces(live_db):
    made: list[Workspace] = []

    def make(*slugs: str) -> list[Workspace]:
        for slug in slugs:
            made.append(workspace_create(name=slug.title(), slug=slug))
        return made[-len(slugs):]

    yield make
    connection.set_schema_to_public()
    with connection.cursor() as cursor:
        for workspace in made:
            cursor.execute(f'DROP SCHEMA IF EXISTS "{workspace.schema_name}" CASCADE')
    Workspace.objects.filter(pk__in=[w.pk for w in made]).delete()


def _forget(workspace: Workspace, app: str, name: str, *, state: str = "stale") -> None:
    with connection.cursor() as cursor:
        cursor.execute(f'DELETE FROM "{workspace.schema_name}".django_migrations WHERE app = %s AND name = %s',
                       [app, name])
    Workspace.objects.filter(pk=workspace.pk).update(schema_state=state)


def _restore(workspace: Workspace, app: str, name: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(f'INSERT INTO "{workspace.schema_name}".django_migrations (app, name, applied) '
                       "VALUES (%s, %s, now())", [app, name])


def _migrate(**options) -> str:
    out = StringIO()
    call_command("migrate_schemas", interactive=False, verbosity=0, stdout=out, stderr=StringIO(), **options)
    return out.getvalue()


def _state(workspace: Workspace) -> str:
    return Workspace.objects.get(pk=workspace.pk).schema_state


def test_migrate_schemas_skips_workspaces_at_the_latest_state_without_reading_their_schemas(make_workspaces):
    # given workspaces provisioned at the template's state
    workspaces = make_workspaces("mig-a", "mig-b", "mig-c")

    # when migrate_schemas runs with nothing to migrate
    with CaptureQueriesContext(connection) as queries:
        summary = _migrate()

    # then every one is skipped, decided without a query into any workspace's schema
    assert "0 migrated, 3 skipped" in summary and "0 failed" in summary
    assert not [q["sql"] for q in queries if "ws_mig" in q["sql"]]
    assert {_state(w) for w in workspaces} == {schema_state(settings.TENANT_BASE_SCHEMA)}


def test_migrate_schemas_migrates_the_workspaces_behind_in_parallel_and_records_their_state(make_workspaces):
    # given two workspaces behind, one up to date with no state recorded yet, one up to date
    behind_a, behind_b, unrecorded, current = make_workspaces("mig-a", "mig-b", "mig-c", "mig-d")
    _forget(behind_a, *HARMLESS)
    _forget(behind_b, *HARMLESS, state="")
    Workspace.objects.filter(pk=unrecorded.pk).update(schema_state="")

    # when
    summary = _migrate(parallel=2)

    # then the two behind were migrated (by 2 processes), the others skipped; all record the latest state
    target = schema_state(settings.TENANT_BASE_SCHEMA)
    assert "2 migrated, 2 skipped" in summary and "0 failed" in summary and "(2 processes)" in summary
    for workspace in (behind_a, behind_b, unrecorded, current):
        assert _state(workspace) == schema_state(workspace.schema_name) == target


def test_migrate_schemas_reports_a_failing_schema_finishes_the_others_and_a_rerun_completes(make_workspaces):
    # given three workspaces behind, one of which can't be migrated: it forgot that its latest
    # metering migration was applied, so migrating applies it again and fails
    first, broken, last = make_workspaces("mig-a", "mig-b", "mig-c")
    _forget(first, *HARMLESS)
    _forget(last, *HARMLESS)
    _forget(broken, *BREAKS)

    # when
    out = StringIO()
    with pytest.raises(CommandError, match="1 workspace schema"):
        call_command("migrate_schemas", interactive=False, verbosity=0, stdout=out, stderr=StringIO())

    # then the failure is named with its schema and error; the others were migrated all the same
    summary = out.getvalue()
    assert "2 migrated, 0 skipped" in summary and ", 1 failed" in summary
    assert "FAILED ws_mig_b: ProgrammingError:" in summary and "already exists" in summary
    target = schema_state(settings.TENANT_BASE_SCHEMA)
    assert _state(first) == _state(last) == target
    assert _state(broken) == schema_state(broken.schema_name) != target

    # and once the cause is fixed, a rerun migrates only that one
    _restore(broken, *BREAKS)
    summary = _migrate()
    assert "1 migrated, 2 skipped" in summary and ", 0 failed" in summary
    assert _state(broken) == target
