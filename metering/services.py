"""Metering writes: policies (handed over by billing), credit top-ups, the fail-open
spool and its replay, and draining the usage stream into each workspace's schema."""

import logging
import time
from datetime import UTC, datetime

import redis
from django.db import transaction
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
                counters: list[dict]) -> None:
    """Keep an event admitted while Redis was down (and the counts it owes) in PostgreSQL."""
    with schema_context("public"):
        SpooledEvent.objects.create(
            workspace_id=workspace_id, request_id=request_id,
            payload={"key": key_id, "ep": endpoint, "costs": costs, "ts": int(at * 1000), "counters": counters},
        )


def replay_spool(*, limit: int = 1000) -> int:
    """Push spooled events and their counts into Redis once it is back. Returns how many."""
    client = get_redis()
    done = 0
    with schema_context("public"), transaction.atomic():
        rows = list(SpooledEvent.objects.select_for_update(skip_locked=True).order_by("pk")[:limit])
        if not rows:
            return 0
        pipe = client.pipeline(transaction=False)
        for row in rows:
            p = row.payload
            for c in p["counters"]:
                # Credits spent while Redis was away count against the allowance; any
                # overdraft shows up as usage and is billed as overage.
                pipe.incrby(c["key"], c["cost"])
                pipe.pexpire(c["key"], int(c["window_ms"]) + 3_600_000)
            event = events.pack(row.request_id, p["key"], p["costs"], p["ts"], p["ep"])
            pipe.xadd(f"{tag(row.workspace_id)}:usage", {events.FIELD: event})
            done += 1
        pipe.execute()
        SpooledEvent.objects.filter(pk__in=[r.pk for r in rows]).delete()
    return done


def _parse(fields: dict) -> list[dict]:
    e = events.parse(fields)
    at = datetime.fromtimestamp(e["ts"] / 1000, tz=UTC)
    return [{"request_id": e["rid"], "key_id": e["key"], "endpoint": e["ep"][:200], "meter": meter, "units": units,
             "status": e["st"], "occurred_at": at} for meter, units in e["meters"]]


def drain_workspace(*, workspace_id: int, schema_name: str) -> tuple[int, float]:
    """Move the workspace's stream into its UsageEvent table. Idempotent: replays add nothing.

    Returns (events moved, age in seconds of the oldest event found: the drain lag).
    """
    client = get_redis()
    stream = f"{tag(workspace_id)}:usage"
    moved, lag = 0, 0.0
    while True:
        entries = client.xrange(stream, count=DRAIN_BATCH)
        if not entries:
            break
        rows = [row for _, fields in entries for row in _parse(fields)]
        oldest_ms = int(entries[0][0].decode().split("-")[0])
        lag = max(lag, time.time() - oldest_ms / 1000)
        with schema_context(schema_name), transaction.atomic():
            UsageEvent.objects.bulk_create([UsageEvent(**r) for r in rows], ignore_conflicts=True)
        client.xdel(stream, *[entry_id for entry_id, _ in entries])
        USAGE_EVENTS_INGESTED.inc(len(rows))
        moved += len(rows)
        if len(entries) < DRAIN_BATCH:
            break
    return moved, lag


def drain_all() -> int:
    """Drain every workspace's usage stream (the Celery beat job)."""
    try:
        replay_spool()
    except (redis.ConnectionError, redis.TimeoutError):
        logger.warning("Redis still unreachable: spool kept for the next run")
        return 0
    total, lag = 0, 0.0
    for workspace_id, schema_name in Workspace.objects.values_list("pk", "schema_name"):
        moved, oldest = drain_workspace(workspace_id=workspace_id, schema_name=schema_name)
        total, lag = total + moved, max(lag, oldest)
    USAGE_DRAIN_LAG.set(lag)  # 0 once every stream was empty: no stale value to alert on
    return total
