"""Folding the web processes' request analytics from Redis into the workspace's schema, once.

Web processes add their in-process histograms into the workspace's hash, {ws:N}:reqs, and mark
the workspace in analytics:pending (metering/analytics/recorder.py). The drain folds each marked
workspace:

1. one script renames the hash to {ws:N}:reqs:folding and gives it a fold id (a flush after
   that makes a new hash, folded next time); a folding hash left by an interrupted fold is
   folded first, with the id it already has;
2. one transaction adds its counts to RequestHourly (workspace schema) and RequestTotalsHourly
   (public), and writes the fold id into RequestFold: a fold id found there already means the
   batch was added (the drain died between its commit and step 3), so it adds nothing;
3. the folding hash is deleted, then the workspace unmarked (and marked again if a flush
   made a new hash meanwhile).

Sums of counters commute, so RequestHourly is the same whatever the order or the number of
processes and flushes; unlike UsageHourly it is not recomputable from raw events (there are
none: storing a row per request is what the in-process histogram avoids).
"""

import logging
import uuid
from datetime import UTC, datetime, timedelta

from django.db import connection, transaction
from django.utils import timezone
from django_tenants.utils import schema_context

from core.redis import get_redis
from metering import redis_keys
from metering.analytics import histogram
from metering.models import RequestFold, RequestHourly, RequestTotalsHourly
from tenants.models import Workspace

logger = logging.getLogger(__name__)
ID_FIELD = "_id"
FOLDS_KEPT = timedelta(days=1)

# KEYS: the hash, the folding hash. ARGV: a new fold id. Returns the folding hash's fields.
_TAKE = """
if redis.call('EXISTS', KEYS[2]) == 0 then
  if redis.call('EXISTS', KEYS[1]) == 0 then return {} end
  redis.call('RENAME', KEYS[1], KEYS[2])
  redis.call('HSET', KEYS[2], '_id', ARGV[1])
end
return redis.call('HGETALL', KEYS[2])
"""
# KEYS: the folding hash. ARGV: its fold id. Deleted only if still that fold's.
_DONE = "if redis.call('HGET', KEYS[1], '_id') == ARGV[1] then return redis.call('DEL', KEYS[1]) end return 0"

RH, RF, RT = RequestHourly._meta.db_table, RequestFold._meta.db_table, RequestTotalsHourly._meta.db_table
_ADD_HOURLY = (f"INSERT INTO {RH} AS r (hour, key_id, endpoint, status_class, requests, errors, latency_sum_us, "  # noqa: S608
               "buckets) SELECT h, k, e, c, n, err, us, string_to_array(b, ',')::bigint[] FROM unnest("
               "%s::timestamptz[], %s::varchar[], %s::varchar[], %s::varchar[], %s::bigint[], %s::bigint[], "
               "%s::bigint[], %s::text[]) AS t(h, k, e, c, n, err, us, b) "
               "ON CONFLICT (hour, key_id, endpoint, status_class) DO UPDATE SET "
               "requests = r.requests + EXCLUDED.requests, errors = r.errors + EXCLUDED.errors, "
               "latency_sum_us = r.latency_sum_us + EXCLUDED.latency_sum_us, "
               "buckets = ARRAY(SELECT coalesce(x, 0) + coalesce(y, 0) FROM unnest(r.buckets, EXCLUDED.buckets) "
               "WITH ORDINALITY AS u(x, y, i) ORDER BY i)")
_ADD_TOTALS = (f'INSERT INTO public."{RT}" AS t (workspace_id, hour, requests, errors, refused, latency_sum_us) '  # noqa: S608
               "SELECT %s, * FROM unnest(%s::timestamptz[], %s::bigint[], %s::bigint[], %s::bigint[], %s::bigint[]) "
               "ON CONFLICT (workspace_id, hour) DO UPDATE SET requests = t.requests + EXCLUDED.requests, "
               "errors = t.errors + EXCLUDED.errors, refused = t.refused + EXCLUDED.refused, "
               "latency_sum_us = t.latency_sum_us + EXCLUDED.latency_sum_us")


def parse(fields: dict) -> tuple[str | None, dict[tuple[datetime, str, str, str], list]]:
    """A folding hash as (fold id, {(hour, key id, endpoint, status class): [requests,
    latency sum us, buckets]}). Fields are recorder.field's."""
    fold_id: str | None = None
    groups: dict[tuple[datetime, str, str, str], list] = {}
    for raw_name, raw_value in fields.items():
        name = raw_name.decode() if isinstance(raw_name, bytes) else raw_name
        value = raw_value.decode() if isinstance(raw_value, bytes) else raw_value
        if name == ID_FIELD:
            fold_id = value
            continue
        metric, hour, key_id, status, endpoint = name.split("\t", 4)
        group = (datetime.fromtimestamp(int(hour), tz=UTC), "" if key_id == "-" else key_id, endpoint[:200], status)
        stats = groups.setdefault(group, [0, 0, histogram.empty()])
        if metric == "n":
            stats[0] += int(value)
        elif metric == "us":
            stats[1] += int(value)
        else:
            stats[2][int(metric[1:])] += int(value)
    return fold_id, groups


def request_stats_store(*, workspace_id: int, schema_name: str, fold_id: str,
                        groups: dict[tuple[datetime, str, str, str], list]) -> bool:
    """Add one fold's groups to the workspace's RequestHourly and its public totals, once:
    False (nothing added) when this fold id was added before."""
    now = timezone.now()
    with schema_context(schema_name), transaction.atomic(), connection.cursor() as cursor:
        cursor.execute(f"INSERT INTO {RF} (fold_id, folded_at) VALUES (%s, %s) ON CONFLICT DO NOTHING",  # noqa: S608
                       [fold_id, now])
        if cursor.rowcount == 0:
            return False
        cursor.execute(f"DELETE FROM {RF} WHERE folded_at < %s", [now - FOLDS_KEPT])  # noqa: S608
        if not groups:
            return True
        rows = [(h, k, e, c, n, n if c in ("4xx", "5xx") else 0, us, ",".join(map(str, b)))
                for (h, k, e, c), (n, us, b) in groups.items()]
        cursor.execute(_ADD_HOURLY, [list(column) for column in zip(*rows, strict=True)])
        totals: dict[datetime, list[int]] = {}
        for h, _k, _e, c, n, errors, us, _b in rows:
            t = totals.setdefault(h, [0, 0, 0, 0])
            t[0] += n
            t[1] += errors
            t[2] += n if c == "refused" else 0
            t[3] += us
        cursor.execute(_ADD_TOTALS, [workspace_id, list(totals), *([t[i] for t in totals.values()] for i in range(4))])
    return True


def fold_workspace(*, workspace_id: int, schema_name: str) -> int:
    """Fold the workspace's flushed request analytics into its schema. Returns the requests added.
    Raises what Redis or PostgreSQL raise: the folding hash stays and is folded next time."""
    client = get_redis()
    name, folding = redis_keys.request_stats(workspace_id), redis_keys.request_stats_folding(workspace_id)
    added = 0
    for _ in range(2):  # a leftover folding hash first, then what was flushed since
        reply = client.eval(_TAKE, 2, name, folding, uuid.uuid4().hex)
        fold_id, groups = parse(dict(zip(reply[::2], reply[1::2], strict=True)))
        if fold_id is None:
            break
        if request_stats_store(workspace_id=workspace_id, schema_name=schema_name, fold_id=fold_id, groups=groups):
            added += sum(stats[0] for stats in groups.values())
        client.eval(_DONE, 1, folding, fold_id)
    return added


def fold_all() -> int:
    """Fold every marked workspace (the drain's job, after the usage streams). Returns the
    requests added. A workspace whose fold fails stays marked and is tried on the next run."""
    client = get_redis()
    pending = redis_keys.request_stats_pending()
    ids = sorted(int(m) for m in client.smembers(pending))
    if not ids:
        return 0
    schemas = dict(Workspace.objects.filter(pk__in=ids).values_list("pk", "schema_name"))
    added = 0
    for workspace_id in ids:
        if workspace_id not in schemas:  # deleted: its hash expires with its TTL
            client.srem(pending, workspace_id)
            continue
        try:
            added += fold_workspace(workspace_id=workspace_id, schema_name=schemas[workspace_id])
        except Exception:
            logger.exception("could not fold request analytics of workspace %s", workspace_id)
            continue
        # Unmarked after the fold; marked again if a flush made a new hash meanwhile (a flush
        # writes its counts before its mark, so either the hash is seen here or the mark lands after).
        client.srem(pending, workspace_id)
        if client.exists(redis_keys.request_stats(workspace_id)):
            client.sadd(pending, workspace_id)
    return added
