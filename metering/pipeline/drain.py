"""Draining each workspace's usage stream into its schema: stored once, acknowledged after.

Each workspace's stream ({ws:N}:usage) is read through one consumer group, GROUP, in batches:
- XREADGROUP hands a batch to one consumer (a worker process); it stays pending, that
  consumer's, until acknowledged;
- the batch is COPYed into a temporary staging table, then inserted into the workspace's
  UsageEvent with ON CONFLICT DO NOTHING (COPY itself can't skip duplicates), one transaction;
- only after the commit is it acknowledged and deleted (XACK, XDEL): Redis holds only what is
  not stored yet, so its memory stays bounded by the drain lag, not by history;
- a drain that dies before its commit, or between commit and XACK, leaves the batch pending:
  the same consumer reads its own pending entries first on its next run, and a live consumer
  takes over those of a dead one (idle CLAIM_IDLE_MS) with XAUTOCLAIM. Either way a batch
  stored already adds nothing: an event's identity is its stream entry id, or the id the spool
  gave it (events.identity), and (event_id, meter) is unique.

Which workspaces: only those whose stream exists (SCAN for {ws:*}:usage streams), and a
stream found empty after a drain is deleted (atomically, only if still empty, so an XADD
racing it is never lost), so idle workspaces cost the drain nothing but the SCAN. A set of
active workspaces marked by check.lua would be cheaper to list but would put a key outside
the workspace's hash tag into the hot path's script (Redis Cluster: one slot per check).
"""

import logging
import os
import socket
import time
from collections.abc import Iterator
from datetime import UTC, datetime
from typing import Any

import redis
from django.db import connection, transaction
from django.utils import timezone
from django_tenants.utils import schema_context

from core.redis import get_redis
from metering import redis_keys
from metering.metrics import USAGE_DRAIN_LAG, USAGE_EVENTS_INGESTED
from metering.models import UsageEvent
from metering.pipeline import events, partitions, request_stats, rollups
from metering.pipeline.partitions import partitions_ensure
from metering.pipeline.spool import replay_spool, spool_settle
from tenants.models import Workspace

logger = logging.getLogger(__name__)

DRAIN_BATCH = 1000
GROUP = "drain"
# A consumer whose entries have been pending this long is taken to be dead (a drain run
# takes well under a second per batch; the beat runs it every 5 s).
CLAIM_IDLE_MS = 60_000

Entry = tuple[bytes, dict]


def consumer_name() -> str:
    """This process's consumer name: a restarted worker is a new consumer, and the entries
    its predecessor left pending are claimed after CLAIM_IDLE_MS."""
    return f"{socket.gethostname()}-{os.getpid()}"


def _rows(entry_id: bytes, fields: dict) -> list[tuple]:
    """A stream entry as UsageEvent rows, one per meter, in _COLUMNS' order."""
    e = events.parse(fields)
    event_id = events.identity(entry_id, fields)
    at = datetime.fromtimestamp(e["ts"] / 1000, tz=UTC)
    return [(event_id, e["rid"], e["key"], e["ep"][:200], meter, units, e["st"], at) for meter, units in e["meters"]]


_COLUMNS = ("event_id", "request_id", "key_id", "endpoint", "meter", "units", "status", "occurred_at")
_STAGING = "usage_staging"
# Session-local, made once per connection; its rows go at each commit. TRUNCATE too, for a
# batch stored inside an outer transaction (tests, a caller's atomic block).
_STAGE = (f"CREATE TEMPORARY TABLE IF NOT EXISTS {_STAGING} (event_id varchar(64), request_id varchar(128), "
          "key_id varchar(16), endpoint varchar(200), meter varchar(64), units bigint, status varchar(16), "
          f"occurred_at timestamptz) ON COMMIT DELETE ROWS; TRUNCATE {_STAGING}")
_COPY = f"COPY {_STAGING} ({', '.join(_COLUMNS)}) FROM STDIN"
# What was stored, grouped as rollup rows (hour, key_id, endpoint, meter, status_class, events,
# units, errors): a row whose (event_id, meter, occurred_at) is already there (a replay) is
# skipped, neither counted nor rolled up.
_INSERT = (f'WITH stored AS (INSERT INTO "{UsageEvent._meta.db_table}" ({", ".join(_COLUMNS)}) '  # noqa: S608 - constants only
           f'SELECT {", ".join(_COLUMNS)} FROM {_STAGING} ON CONFLICT (event_id, meter, occurred_at) DO NOTHING '
           "RETURNING key_id, endpoint, meter, units, status, occurred_at) "
           f"SELECT date_trunc('hour', occurred_at, 'UTC'), key_id, endpoint, meter, {rollups.CLASS}, count(*), "
           f"sum(units), {rollups.ERRORS} FROM stored GROUP BY 1, 2, 3, 4, 5")


def usage_events_store(*, workspace_id: int, schema_name: str, rows: list[tuple]) -> int:
    """Insert usage rows (see _rows) into the workspace's schema and recompute the hourly
    rollups (and daily totals) of the hours that got new rows, in one transaction; returns
    how many rows were new.

    Idempotent: an event already stored (same event_id, meter and time) adds nothing.
    """
    if not rows:
        return 0
    with schema_context(schema_name), transaction.atomic(), connection.cursor() as cursor:
        rollups.lock_workspace(workspace_id=workspace_id)  # before the insert: see rollups.py
        partitions_ensure(schema_name=schema_name, months={partitions.month_of(row[7]) for row in rows})
        cursor.execute(_STAGE)
        with cursor.copy(_COPY) as copy:
            for row in rows:
                copy.write_row(row)
        cursor.execute(_INSERT)
        groups = cursor.fetchall()
        # Hours whose raw events are kept are recomputed whole; older ones (raw dropped on
        # retention) get the late events added: a recompute would keep only those.
        kept = partitions.kept_from(timezone.now())
        rollups.rollup_hours(workspace_id=workspace_id, schema_name=schema_name,
                             hours=[g[0] for g in groups if g[0] >= kept])
        rollups.rollup_add(workspace_id=workspace_id, schema_name=schema_name, groups=[g for g in groups if g[0] < kept])
        return sum(g[5] for g in groups)


def _ensure_group(client: redis.Redis, stream: str) -> None:
    """The drain's consumer group, made on first use from the stream's start ("0": entries
    appended before it existed are drained too)."""
    try:
        client.xgroup_create(stream, GROUP, id="0", mkstream=True)
    except redis.ResponseError as exc:
        if "BUSYGROUP" not in str(exc):
            raise


def _read(reply: Any) -> list[Entry]:
    """The entries of an XREADGROUP reply for one stream (RESP2, as core.redis connects:
    [[stream, entries]])."""
    return list(reply[0][1]) if reply else []


def _batches(client: redis.Redis, stream: str, consumer: str, *, claim_idle_ms: int, count: int) -> Iterator[list[Entry]]:
    """The batches this consumer should store, oldest first: its own pending entries (a run
    that failed mid-batch), then those a dead consumer left pending, then new ones."""
    try:
        last: bytes | str = "0"
        while True:  # own pending: XREADGROUP from an id returns this consumer's pending entries after it
            entries = _read(client.xreadgroup(GROUP, consumer, {stream: last}, count=count))
            if not entries:
                break
            yield entries
            last = entries[-1][0]
        start: bytes | str = "0-0"
        while True:
            claimed: Any = client.xautoclaim(stream, GROUP, consumer, min_idle_time=claim_idle_ms,
                                             start_id=start, count=count)
            start, entries = claimed[0], list(claimed[1])
            if entries:
                yield entries
            if start in (b"0-0", "0-0"):
                break
        while True:
            entries = _read(client.xreadgroup(GROUP, consumer, {stream: ">"}, count=count))
            if entries:
                yield entries
            if len(entries) < count:
                break
    except redis.ResponseError as exc:
        # The stream (and its group) was deleted under us: another drain found it empty.
        if "NOGROUP" not in str(exc):
            raise


def _ack(client: redis.Redis, stream: str, ids: list[bytes]) -> None:
    """Acknowledge and delete a stored batch, in one round trip."""
    pipe = client.pipeline(transaction=False)
    pipe.xack(stream, GROUP, *ids)
    pipe.xdel(stream, *ids)
    pipe.execute()


# Deletes the stream (and its group) only if it holds no entry: pending ones count, so
# nothing a consumer still owes is lost, and an XADD racing the drain lands either before
# (the stream is kept) or after (it makes a new stream).
_DELETE_IF_EMPTY = "if redis.call('XLEN', KEYS[1]) == 0 then return redis.call('DEL', KEYS[1]) end return 0"


def drain_workspace(*, workspace_id: int, schema_name: str, consumer: str | None = None,
                    claim_idle_ms: int = CLAIM_IDLE_MS, batch: int = DRAIN_BATCH) -> tuple[int, float]:
    """Move the workspace's stream into its UsageEvent table. Idempotent: replays add nothing.

    Returns (events stored, age in seconds of the oldest event found: the drain lag). Raises
    what PostgreSQL or Redis raise: the batch then stays pending and is read again.
    """
    client = get_redis()
    stream = redis_keys.usage_stream(workspace_id)
    consumer = consumer or consumer_name()
    _ensure_group(client, stream)
    stored, lag = 0, 0.0
    for entries in _batches(client, stream, consumer, claim_idle_ms=claim_idle_ms, count=batch):
        # An entry deleted while pending comes back without fields: nothing to store.
        rows = [row for entry_id, fields in entries if fields for row in _rows(entry_id, fields)]
        oldest_ms = int(entries[0][0].decode().split("-")[0])
        lag = max(lag, time.time() - oldest_ms / 1000)
        new = usage_events_store(workspace_id=workspace_id, schema_name=schema_name, rows=rows)
        _ack(client, stream, [entry_id for entry_id, _ in entries])
        USAGE_EVENTS_INGESTED.inc(new)  # stored, not read: a replayed entry is not ingested twice
        stored += new
    client.eval(_DELETE_IF_EMPTY, 1, stream)
    return stored, lag


def active_workspaces() -> list[tuple[int, str]]:
    """(id, schema name) of the workspaces whose usage stream exists: SCAN, not a row per
    workspace, so idle workspaces cost nothing but the keyspace walk."""
    ids = set()
    for key in get_redis().scan_iter(match=redis_keys.usage_stream_pattern(), count=1000, _type="stream"):
        # streams only (_type): of a workspace's keys, only its usage stream is one
        workspace_id = redis_keys.workspace_of(key.decode() if isinstance(key, bytes) else key)
        if workspace_id is not None:
            ids.add(workspace_id)
    if not ids:
        return []
    return list(Workspace.objects.filter(pk__in=ids).order_by("pk").values_list("pk", "schema_name"))


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
    request_stats.fold_all()
    # When the drain last finished, and its lag then: what the operators' overview shows
    # (metering.analytics.platform); the gauge above lives in the worker's process.
    get_redis().set(redis_keys.drain_status(), f"{time.time():.3f} {lag:.3f}")
    return total


def _drain_every_workspace() -> tuple[int, float]:
    total, lag = 0, 0.0
    for workspace_id, schema_name in active_workspaces():
        stored, oldest = drain_workspace(workspace_id=workspace_id, schema_name=schema_name)
        total, lag = total + stored, max(lag, oldest)
    return total, lag
