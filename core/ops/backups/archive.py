"""Writing a backup: dump, manifest, prune, S3 copy (backup_create)."""

import dataclasses
import json
import logging
import re
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import psycopg
from django.conf import settings

from core.metrics import BACKUP_LAST_SUCCESS
from core.ops import signals
from core.ops.backups.database import (
    BackupError,
    Target,
    count_rows,
    manifest_path,
    per_schema,
    pick_tool,
    run_with_progress,
    server_major,
    sha256_of,
    tool_major,
)

logger = logging.getLogger(__name__)

NAME_PREFIX = "tollgate-"
SUFFIX = ".dump"
_STAMP = "%Y%m%dT%H%M%SZ"
_NAME_RE = re.compile(rf"^{NAME_PREFIX}(\d{{8}}T\d{{6}}Z){re.escape(SUFFIX)}$")



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
        (snapshot,) = conn.execute("SELECT pg_export_snapshot()").fetchone() or ("",)
        major = server_major(conn)
        counts = count_rows(conn, progress=progress, desc="counting rows")
        pg_dump = pick_tool("pg_dump", at_least=major)
        run_with_progress(
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
        "sha256": sha256_of(path),
        "size": path.stat().st_size,
        "row_counts": counts,
    }


def backup_create(*, directory: Path | None = None, keep_days: int | None = None, progress: bool | None = False,
                  target: Target | None = None) -> BackupResult:
    """Back up the database, prune archives older than keep_days, copy to S3 when configured.

    Audited: backup_completed or backup_failed (platform events). Raises BackupError.
    """
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
        for _receiver, outcome in signals.backup_finished.send_robust(
                sender=backup_create, action="backup_failed", details={"file": path.name, "error": message}):
            if isinstance(outcome, Exception):
                logger.error("could not audit the failed backup: %s", outcome.__class__.__name__)
        if isinstance(exc, BackupError):
            raise
        raise BackupError(f"Backup failed: {message}") from exc
    counts = manifest["row_counts"]
    result = BackupResult(path=path, size=manifest["size"], seconds=round(time.monotonic() - started, 2),
                          tables=len(counts), rows=sum(counts.values()), schemas=len(per_schema(counts)), pruned=pruned)
    signals.backup_finished.send(
        sender=backup_create, action="backup_completed",
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
