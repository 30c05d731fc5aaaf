"""Usage admitted while Redis failed (fail-open): kept in PostgreSQL, replayed into the stream once."""

import uuid
from datetime import UTC, datetime, timedelta

from django.db import transaction
from django.utils import timezone
from django_tenants.utils import schema_context

from core.redis import get_redis
from metering import redis_keys
from metering.models import SpooledEvent, UsageEvent
from metering.pipeline import events
from tenants.models import Workspace


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
        pipe.xadd(redis_keys.usage_stream(row.workspace_id),
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
