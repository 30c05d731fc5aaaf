"""Reconciliation: per workspace and hour, requests admitted in Redis = stored = rolled up.

What is compared, for one finished UTC hour:
- admitted: the workspace's `requests` quota counter of that hour ({ws:N}:q:requests:hour:<start>),
  which check.lua increments for every admitted request, gives back on a refusal, and the spool
  replay increments for requests admitted while Redis was away. It exists only for workspaces
  whose plan has an hourly requests quota, and it expires an hour after its window ends, so an
  hour is reconciled within the next hour (the beat job runs every few minutes). Reusing it
  keeps the hot path as it is (one EVALSHA, no extra command). An operator's reset
  (metering.services.usage_reset) moves what the counter held to an offset, added back here;
- stored: the units of the `requests` meter among the workspace's raw events of that hour
  (but keyless demo calls', which the demo caller's own windows count: metering/demo.py);
- rolled up: the same in its hourly rollups.

A workspace-hour is settled, and checked, only once its hour has ended (plus SETTLE_SECONDS) and
nothing that could still land in it is in flight: no entry older than the hour's end left in
the workspace's stream, no spooled event waiting. A mismatch is recorded (UsageReconciliation),
counted (tollgate_usage_reconcile_mismatches_total) and audited (usage_mismatch) the first time
it is found; an hour found right again is recorded ok.
"""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.db import connection, transaction
from django_tenants.utils import schema_context

from auditing.services import record
from core.redis import get_redis
from metering import redis_keys, windows
from metering.metrics import USAGE_RECONCILE_MISMATCH
from metering.models import SpooledEvent, UsageEvent, UsageHourly, UsageReconciliation
from metering.pipeline.events import DEMO_KEY_ID
from tenants.models import Workspace

SETTLE_SECONDS = 60
METER = "requests"


@dataclass(frozen=True)
class Reconciliation:
    workspace_id: int
    slug: str
    hour: datetime
    admitted: int | None  # None: no counter (no hourly quota, or expired)
    stored: int
    rolled_up: int
    status: str  # ok | mismatch | unsettled (still in flight) | no counter

    @property
    def flagged(self) -> bool:
        return self.status == UsageReconciliation.Status.MISMATCH


def _counter(workspace_id: int, hour: datetime) -> str:
    start, _ = windows.bounds("hour", hour.timestamp())
    return redis_keys.quota(workspace_id, METER, "hour", start)


def _stored(schema_name: str, hour: datetime) -> tuple[int, int]:
    end = hour + timedelta(hours=1)
    with schema_context(schema_name), connection.cursor() as cursor:
        cursor.execute(
            f"SELECT (SELECT coalesce(sum(units), 0) FROM {UsageEvent._meta.db_table} "  # noqa: S608 - constants
            "WHERE meter = %s AND occurred_at >= %s AND occurred_at < %s AND key_id <> %s), "
            f"(SELECT coalesce(sum(units), 0) FROM {UsageHourly._meta.db_table} "
            "WHERE meter = %s AND hour = %s AND key_id <> %s)",
            [METER, hour, end, DEMO_KEY_ID, METER, hour, DEMO_KEY_ID])
        stored, rolled = cursor.fetchone()
    return int(stored), int(rolled)


def _in_flight(workspace_id: int, hour: datetime) -> bool:
    """Something admitted in the hour may not be stored yet: an entry appended before the
    hour's end (plus a margin for clock skew: entry ids are Redis's clock, event times the
    web process's) still in the stream, or an event in the spool.

    Not seen: a spooled event replayed into the stream in the same moment (a new entry id with
    its old time) after the spool check; the next run, 5 minutes later, finds the hour right
    again and records it ok (its audit event stays: Redis had failed)."""
    end_ms = int((hour + timedelta(hours=1, seconds=SETTLE_SECONDS)).timestamp() * 1000)
    if get_redis().xrange(redis_keys.usage_stream(workspace_id), "-", end_ms, count=1):
        return True
    with schema_context("public"):
        return SpooledEvent.objects.filter(workspace_id=workspace_id).exists()


def reconcile_hour(*, workspace: Workspace, hour: datetime, now: datetime) -> Reconciliation:
    """Check one workspace-hour (`hour`: its UTC start); record, count and audit a new mismatch."""
    hour = hour.astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    counter = _counter(workspace.pk, hour)
    # plus what an operator's reset took off the counter (metering.services.usage_reset)
    raw, reset = get_redis().mget([counter, redis_keys.reset_offset(counter)])
    admitted = int(raw or 0) + int(reset or 0) if raw is not None or reset is not None else None
    stored, rolled = _stored(workspace.schema_name, hour)
    if now < hour + timedelta(hours=1, seconds=SETTLE_SECONDS) or _in_flight(workspace.pk, hour):
        status = "unsettled"
    elif admitted is None:
        status = "no counter"
    elif admitted == stored == rolled:
        status = UsageReconciliation.Status.OK
    else:
        status = UsageReconciliation.Status.MISMATCH
    result = Reconciliation(workspace.pk, workspace.slug, hour, admitted, stored, rolled, str(status))
    if admitted is not None and status in UsageReconciliation.Status.values:
        _record(workspace, result, admitted, now)
    return result


def _record(workspace: Workspace, result: Reconciliation, admitted: int, now: datetime) -> None:
    with schema_context("public"), transaction.atomic():
        previous = (UsageReconciliation.objects.select_for_update()
                    .filter(workspace_id=workspace.pk, hour=result.hour).values_list("status", flat=True).first())
        UsageReconciliation.objects.update_or_create(
            workspace_id=workspace.pk, hour=result.hour,
            defaults={"admitted": admitted, "stored": result.stored, "rolled_up": result.rolled_up,
                      "status": result.status, "checked_at": now})
        if result.flagged and previous != UsageReconciliation.Status.MISMATCH:
            USAGE_RECONCILE_MISMATCH.inc()
            record(action="usage_mismatch", severity="error", outcome="failure", workspace=workspace,
                   details={"hour": result.hour.isoformat(), "meter": METER, "admitted": result.admitted,
                            "stored": result.stored, "rolled_up": result.rolled_up})


def usage_reconcile(*, hour: datetime | None = None, now: datetime | None = None,
                    workspaces: list[Workspace] | None = None) -> list[Reconciliation]:
    """Reconcile `hour` (default: the last finished one) for `workspaces` (default: every
    workspace that has a requests counter for it: found by SCAN, so idle ones cost nothing)."""
    # metering's clock, the one the counters' hours were cut by (tests move it: metering.windows)
    now = now or datetime.fromtimestamp(windows.now(), tz=UTC)
    hour = hour or (now - timedelta(hours=1)).astimezone(UTC).replace(minute=0, second=0, microsecond=0)
    if workspaces is None:
        start, _ = windows.bounds("hour", hour.timestamp())
        ids = set()
        for key in get_redis().scan_iter(match=redis_keys.quota_pattern_all_workspaces(METER, "hour", start),
                                         count=1000):
            workspace_id = redis_keys.workspace_of(key.decode() if isinstance(key, bytes) else key)
            if workspace_id is not None:
                ids.add(workspace_id)
        workspaces = list(Workspace.objects.filter(pk__in=ids).order_by("pk")) if ids else []
    return [reconcile_hour(workspace=w, hour=hour, now=now) for w in workspaces]
