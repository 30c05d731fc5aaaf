"""Draining each workspace's usage stream into its schema: stored once, counted as stored."""

import logging
import time
from datetime import UTC, datetime

import redis
from django.db import connection, transaction
from django_tenants.utils import schema_context

from core.redis import get_redis
from metering import redis_keys
from metering.metrics import USAGE_DRAIN_LAG, USAGE_EVENTS_INGESTED
from metering.models import UsageEvent
from metering.pipeline import events
from metering.pipeline.spool import replay_spool, spool_settle
from tenants.models import Workspace

logger = logging.getLogger(__name__)
DRAIN_BATCH = 1000


def _rows(entry_id: bytes, fields: dict) -> list[tuple]:
    """A stream entry as UsageEvent rows, one per meter, in _INSERT's column order."""
    e = events.parse(fields)
    event_id = events.identity(entry_id, fields)
    at = datetime.fromtimestamp(e["ts"] / 1000, tz=UTC)
    return [(event_id, e["rid"], e["key"], e["ep"][:200], meter, units, e["st"], at) for meter, units in e["meters"]]


_COLUMNS = ("event_id", "request_id", "key_id", "endpoint", "meter", "units", "status", "occurred_at")
_TYPES = ("varchar", "varchar", "varchar", "varchar", "varchar", "bigint", "varchar", "timestamptz")
# One statement whatever the batch size (one array per column), and rowcount is what was
# stored: a row whose (event_id, meter) is already there (a replay) is skipped, not counted.
_INSERT = (f'INSERT INTO "{UsageEvent._meta.db_table}" ({", ".join(_COLUMNS)}) '  # noqa: S608 - constants only
           f'SELECT * FROM unnest({", ".join(f"%s::{t}[]" for t in _TYPES)}) '
           "ON CONFLICT (event_id, meter) DO NOTHING")


def usage_events_store(*, schema_name: str, rows: list[tuple]) -> int:
    """Insert usage rows (see _rows) into the workspace's schema; returns how many were new.

    Idempotent: an event already stored (same event_id and meter) adds nothing.
    """
    if not rows:
        return 0
    with schema_context(schema_name), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(_INSERT, [list(column) for column in zip(*rows, strict=True)])
        return cursor.rowcount


def drain_workspace(*, workspace_id: int, schema_name: str) -> tuple[int, float]:
    """Move the workspace's stream into its UsageEvent table. Idempotent: replays add nothing.

    Returns (events stored, age in seconds of the oldest event found: the drain lag).
    """
    client = get_redis()
    stream = redis_keys.usage_stream(workspace_id)
    stored, lag = 0, 0.0
    while True:
        entries: list = client.xrange(stream, count=DRAIN_BATCH)  # type: ignore[assignment]  # [(id, fields)]
        if not entries:
            break
        rows = [row for entry_id, fields in entries for row in _rows(entry_id, fields)]
        oldest_ms = int(entries[0][0].decode().split("-")[0])
        lag = max(lag, time.time() - oldest_ms / 1000)
        new = usage_events_store(schema_name=schema_name, rows=rows)
        client.xdel(stream, *[entry_id for entry_id, _ in entries])
        USAGE_EVENTS_INGESTED.inc(new)  # stored, not read: a replayed entry is not ingested twice
        stored += new
        if len(entries) < DRAIN_BATCH:
            break
    return stored, lag


def drain_all() -> int:
    """Drain every workspace's usage stream (the Celery beat job): replay the spool, drain,
    then settle the events in doubt (they need the streams drained first) and drain again
    if that put any back."""
    try:
        replay_spool()
    except redis.RedisError as exc:
        logger.warning("Redis still failing (%s): spool kept for the next run", type(exc).__name__)
        return 0
    total, lag = _drain_every_workspace()
    if spool_settle():
        total += _drain_every_workspace()[0]
    USAGE_DRAIN_LAG.set(lag)  # 0 once every stream was empty: no stale value to alert on
    return total


def _drain_every_workspace() -> tuple[int, float]:
    total, lag = 0, 0.0
    for workspace_id, schema_name in Workspace.objects.values_list("pk", "schema_name"):
        stored, oldest = drain_workspace(workspace_id=workspace_id, schema_name=schema_name)
        total, lag = total + stored, max(lag, oldest)
    return total, lag
