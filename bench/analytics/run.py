#!/usr/bin/env python
"""Usage analytics at 10 million events: the hourly rollup, and the analytics API's latency.

    .venv/bin/python scripts/devservices.py -- .venv/bin/python bench/analytics/run.py [EVENTS] [--keep]

Makes a workspace and writes EVENTS raw usage events (default 10,000,000) straight into its
UsageEvent table with one INSERT ... SELECT FROM generate_series (not through HTTP: this is
about reading them back), spread over the last 30 days, 20 keys, 10 endpoints, one meter
(`requests`), a few percent with a 4xx/5xx status; and the request analytics those requests
would have left (RequestHourly: per hour, key, endpoint and status class, with histograms).

Then:
1. the hourly rollup of all of them: metering.pipeline.rollups.rollup_range over the 30 days
   (`manage.py rollup` does the same), timed;
2. GET /api/v1/usage (and /metrics, /usage/top) through Django's whole stack in process
   (django.test.Client, a `read` key: middleware, authentication, the selector, JSON), 200
   calls per query after 10 warm-up calls: p50 and p95 in ms. They read rollups only.
Drops the workspace after, unless --keep. Uses DATABASE_URL / REDIS_URL.
"""

import os
import statistics
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django.db import connection, transaction  # noqa: E402
from django.test import Client  # noqa: E402
from django.utils import timezone  # noqa: E402
from django_tenants.utils import schema_context  # noqa: E402

from apikeys.services import apikey_create  # noqa: E402
from metering.analytics import histogram  # noqa: E402
from metering.models import RequestHourly, UsageEvent, UsageHourly  # noqa: E402
from metering.pipeline import rollups  # noqa: E402
from metering.pipeline.partitions import month_of, next_month, partitions_ensure  # noqa: E402
from tenants.models import Workspace  # noqa: E402
from tenants.services import workspace_create  # noqa: E402

DAYS = 30
CALLS = 200
QUERIES = [
    "/api/v1/usage?hours=24",
    "/api/v1/usage?hours=720&granularity=day&group_by=key",
    "/api/v1/usage?hours=720&group_by=endpoint",
    "/api/v1/usage?hours=720&group_by=status",
    "/api/v1/metrics?hours=720&granularity=day",
    "/api/v1/usage/top?hours=720&by=endpoint",
]


def fill(schema: str, n: int, end) -> None:
    start = end - timezone.timedelta(days=DAYS)
    months, m = [], month_of(start)
    while m <= month_of(end):
        months.append(m)
        m = next_month(m)
    with schema_context(schema), transaction.atomic(), connection.cursor() as cursor:
        partitions_ensure(schema_name=schema, months=months)
        # i-th event at start + i * (30 days / n); every 40th a 4xx, every 200th a 5xx
        cursor.execute(
            f"INSERT INTO {UsageEvent._meta.db_table} (event_id, request_id, key_id, endpoint, meter, units, status, "  # noqa: S608
            "occurred_at) SELECT 'b-' || g, 'r-' || g, 'key' || lpad((g %% 20)::text, 2, '0'), "
            "'/api/v1/endpoint-' || (g %% 10), 'requests', 1, "
            "CASE WHEN g %% 200 = 0 THEN '500' WHEN g %% 40 = 0 THEN '404' ELSE 'admitted' END, "
            "%(start)s + (g::bigint * %(step)s::bigint) * interval '1 microsecond' FROM generate_series(1, %(n)s) g",
            {"start": start, "step": DAYS * 86_400_000_000 // n, "n": n})
        # what those requests' histograms folded into: per hour, key and its endpoint (the raw
        # events pair key k with endpoint k % 10), status class; requests as in the raw events
        buckets = ",".join(str(max(0, 30 - abs(i - 20) * 4)) for i in range(histogram.BUCKETS))
        cursor.execute(
            f"INSERT INTO {RequestHourly._meta.db_table} (hour, key_id, endpoint, status_class, requests, errors, "  # noqa: S608
            "latency_sum_us, buckets) SELECT h, 'key' || lpad(k::text, 2, '0'), '/api/v1/endpoint-' || (k %% 10), c, "
            "n, CASE WHEN c IN ('4xx', '5xx') THEN n ELSE 0 END, n * 2000, string_to_array(%(b)s, ',')::bigint[] "
            "FROM generate_series(date_trunc('hour', %(start)s::timestamptz), %(end)s, interval '1 hour') h, "
            "generate_series(0, 19) k, (VALUES ('2xx', %(ok)s), ('4xx', %(client)s), ('5xx', %(server)s), "
            "('refused', %(refused)s)) AS s(c, n)",
            {"b": buckets, "start": start, "end": end, "ok": max(1, n // (DAYS * 24 * 20)),
             "client": max(1, n // (DAYS * 24 * 20 * 40)), "server": max(1, n // (DAYS * 24 * 20 * 200)),
             "refused": max(1, n // (DAYS * 24 * 20 * 100))})


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(q * len(ordered)))]


def main(n: int, keep: bool) -> None:
    call_command("migrate_schemas", interactive=False, verbosity=0)
    tag = uuid.uuid4().hex[:10]
    workspace = workspace_create(name=f"Bench {tag}", slug=f"bench-{tag}")
    schema = workspace.schema_name
    try:
        end = timezone.now().replace(minute=0, second=0, microsecond=0)
        t0 = time.perf_counter()
        fill(schema, n, end)
        with connection.cursor() as cursor:  # what autovacuum does after a while: visibility map, statistics
            cursor.execute(f'VACUUM ANALYZE "{schema}".{UsageEvent._meta.db_table}')
            cursor.execute(f'VACUUM ANALYZE "{schema}".{RequestHourly._meta.db_table}')
        print(f"generated {n:,} raw events in {time.perf_counter() - t0:.1f} s (INSERT ... generate_series)")
        t0 = time.perf_counter()
        written = rollups.rollup_range(workspace_id=workspace.pk, schema_name=schema,
                                       start=end - timezone.timedelta(days=DAYS), end=end + timezone.timedelta(hours=1))
        took = time.perf_counter() - t0
        with connection.cursor() as cursor:
            cursor.execute(f'VACUUM ANALYZE "{schema}".{UsageHourly._meta.db_table}')
        with schema_context(schema):
            events = sum(UsageHourly.objects.values_list("events", flat=True))
            requests = RequestHourly.objects.count()
        assert events == n, (events, n)
        print(f"hourly rollup of {n:,} events over {DAYS} days: {took:.1f} s ({written:,} hourly rows, daily totals too)")
        _, key = apikey_create(workspace=workspace, name="bench", scopes=["read"])
        client = Client(HTTP_HOST="localhost", HTTP_AUTHORIZATION=f"Bearer {key}")
        print(f"API, {CALLS} calls each, in process (RequestHourly rows: {requests:,}):")
        for query in QUERIES:
            for _ in range(10):
                assert client.get(query).status_code == 200
            times = []
            for _ in range(CALLS):
                t0 = time.perf_counter()
                response = client.get(query)
                times.append((time.perf_counter() - t0) * 1000)
                assert response.status_code == 200, response.content[:300]
            print(f"  {query}: p50 {statistics.median(times):.1f} ms, p95 {percentile(times, 0.95):.1f} ms "
                  f"({len(response.content):,} bytes)")
    finally:
        if not keep:
            Workspace.objects.get(pk=workspace.pk).delete(force_drop=True)


if __name__ == "__main__":
    args = [a for a in sys.argv[1:] if not a.startswith("--")]
    main(int(args[0]) if args else 10_000_000, "--keep" in sys.argv)
