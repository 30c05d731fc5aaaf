"""Metering writes: policies (handed over by billing), credit top-ups, the fail-open
spool and its replay, and draining the usage stream into each workspace's schema."""

import logging
import time
import uuid
from datetime import UTC, datetime, timedelta

import redis
from django.db import connection, transaction
from django.utils import timezone
from django_tenants.utils import schema_context

from auditing.services import record
from core import invalidation
from core.errors import InvalidInput
from core.redis import get_redis
from metering import events
from metering.engine import tag
from metering.metrics import USAGE_DRAIN_LAG, USAGE_EVENTS_INGESTED
from metering.models import CreditTopUp, Policy, SpooledEvent, UsageEvent
from metering.policy import PolicyError, validate
from tenants.models import Workspace

logger = logging.getLogger(__name__)
DRAIN_BATCH = 1000


def policy_set(*, workspace, policy: dict) -> dict:
    """Store the workspace's policy; every process applies it on its next request.

    Raises InvalidInput for a malformed policy.
    """
    try:
        clean = validate(policy)
    except PolicyError as exc:
        raise InvalidInput(str(exc))
    with schema_context("public"), transaction.atomic():
        Policy.objects.update_or_create(workspace_id=workspace.pk, defaults={"data": clean})
    invalidation.publish(f"policy:{workspace.pk}")
    return clean


def default_policy_set(*, policy: dict) -> dict:
    """The policy of every workspace that has none of its own (the default plan's)."""
    try:
        clean = validate(policy)
    except PolicyError as exc:
        raise InvalidInput(str(exc))
    with schema_context("public"), transaction.atomic():
        Policy.objects.update_or_create(workspace_id=None, defaults={"data": clean})
    invalidation.publish("policy:default")
    return clean


def credits_top_up(*, workspace, meter: str, units: int, note: str = "", actor=None) -> int:
    """Add bought credits; they are used after the monthly allowance and do not expire.

    Returns the new top-up balance. The ledger row is the durable record.
    """
    if not isinstance(units, int) or units <= 0:
        raise InvalidInput("Top up a positive whole number of credits.", field="units")
    with schema_context("public"), transaction.atomic():
        CreditTopUp.objects.create(workspace_id=workspace.pk, meter=meter, units=units, note=note[:200])
        record(action="credits_topped_up", actor=actor, resource=("workspace", workspace.pk), workspace=workspace,
               details={"meter": meter, "units": units})
        balance = get_redis().incrby(f"{tag(workspace.pk)}:topup:{meter}", units)
    return int(balance)


def spool_event(*, workspace_id: int, request_id: str, key_id: str, endpoint: str, costs: dict, at: float,
                counters: list[dict], in_doubt: bool = False) -> str:
    """Keep an event admitted while Redis failed (and the counts it owes) in PostgreSQL.

    The event gets its identity here, made by us (the request id is the caller's), and keeps
    it through every replay. `in_doubt`: the check was sent and its reply lost, so Redis may
    have counted the request after all (see spool_settle). Returns the identity.
    """
    event_id = f"spool-{uuid.uuid4().hex}"
    with schema_context("public"):
        SpooledEvent.objects.create(
            workspace_id=workspace_id, request_id=request_id, in_doubt=in_doubt,
            payload={"id": event_id, "key": key_id, "ep": endpoint, "costs": costs, "ts": int(at * 1000),
                     "counters": counters},
        )
    return event_id


def _push(rows: list[SpooledEvent]) -> None:
    """Put spooled events and the counts they owe into Redis, in one round trip."""
    pipe = get_redis().pipeline(transaction=False)
    for row in rows:
        p = row.payload
        for c in p["counters"]:
            # Credits spent while Redis was away count against the allowance; any
            # overdraft shows up as usage and is billed as overage.
            pipe.incrby(c["key"], c["cost"])
            pipe.pexpire(c["key"], int(c["window_ms"]) + 3_600_000)
        # Rows spooled before events had ids take one from their primary key: stable too.
        pipe.xadd(f"{tag(row.workspace_id)}:usage",
                  events.replayed(row.request_id, p["key"], p["costs"], p["ts"], p["ep"],
                                  event_id=p.get("id") or f"spool-{row.pk}"))
    pipe.execute()


def replay_spool(*, limit: int = 1000) -> int:
    """Push spooled events and their counts into Redis once it is back. Returns how many.

    Events in doubt wait for spool_settle."""
    with schema_context("public"), transaction.atomic():
        rows = list(SpooledEvent.objects.select_for_update(skip_locked=True).filter(in_doubt=False)
                    .order_by("pk")[:limit])
        if not rows:
            return 0
        _push(rows)
        SpooledEvent.objects.filter(pk__in=[r.pk for r in rows]).delete()
    return len(rows)


# How old an event in doubt must be before spool_settle decides: its check, sent before it was
# spooled, either ran by then or never will (the hot path gives up on Redis after 1 s).
SETTLE_SECONDS = 10.0


def spool_settle(*, limit: int = 1000) -> int:
    """Replay spooled events in doubt, unless Redis counted them after all. Returns how many
    were replayed.

    An event is in doubt when its check was sent whole and the reply lost (Redis stopped
    mid-request, a connection cut, a timeout): the request was served and spooled, but Redis
    may have run the check, counted it and appended the event. Replaying it blindly would bill
    it twice. Run after the streams were drained: if the check ran, its event is in the
    workspace's table by now, with the same request id, key, endpoint and time (to the
    millisecond) as the spooled one; then the spooled copy is dropped, counts and all.
    """
    cutoff = timezone.now() - timedelta(seconds=SETTLE_SECONDS)
    with schema_context("public"), transaction.atomic():
        rows = list(SpooledEvent.objects.select_for_update(skip_locked=True)
                    .filter(in_doubt=True, created_at__lte=cutoff).order_by("pk")[:limit])
        if not rows:
            return 0
        schemas = dict(Workspace.objects.filter(pk__in={r.workspace_id for r in rows})
                       .values_list("pk", "schema_name"))
        replay = [row for row in rows if row.workspace_id in schemas and not _stored(row, schemas[row.workspace_id])]
        if replay:
            _push(replay)
        SpooledEvent.objects.filter(pk__in=[r.pk for r in rows]).delete()
    return len(replay)


def _stored(row: SpooledEvent, schema_name: str) -> bool:
    """Whether the event of a spooled request was stored from the stream (the check ran)."""
    p = row.payload
    meters = list(p["costs"])
    if not meters:
        return True  # nothing to bill either way
    with schema_context(schema_name):
        return UsageEvent.objects.filter(
            request_id=row.request_id, key_id=p["key"], endpoint=p["ep"][:200], meter=meters[0],
            occurred_at=datetime.fromtimestamp(p["ts"] / 1000, tz=UTC),
        ).exists()


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
    stream = f"{tag(workspace_id)}:usage"
    stored, lag = 0, 0.0
    while True:
        entries = client.xrange(stream, count=DRAIN_BATCH)
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
