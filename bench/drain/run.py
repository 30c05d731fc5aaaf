#!/usr/bin/env python
"""Usage drain throughput: stream -> workspace schema (COPY + ON CONFLICT, rollups, XACK+XDEL).

    .venv/bin/python scripts/devservices.py -- .venv/bin/python bench/drain/run.py [EVENTS]

Makes a workspace, appends EVENTS usage events (two meters each, the form check.lua writes:
metering/pipeline/events.py) to its stream spread over 24 hours and 20 keys and endpoints,
drains it (metering.pipeline.drain.drain_workspace: batches of 1,000), and prints events and
rows stored per second; then drains the same entries again (all duplicates) and prints that
rate. Drops the workspace after. Uses DATABASE_URL / REDIS_URL (embedded under devservices).
"""

import os
import sys
import time
import uuid
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[2]))
os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

import django  # noqa: E402

django.setup()

from django.core.management import call_command  # noqa: E402
from django_tenants.utils import schema_context  # noqa: E402

from core.redis import get_redis  # noqa: E402
from metering import redis_keys  # noqa: E402
from metering.models import UsageEvent, UsageHourly  # noqa: E402
from metering.pipeline import events  # noqa: E402
from metering.pipeline.drain import drain_workspace  # noqa: E402
from tenants.models import Workspace  # noqa: E402
from tenants.services import workspace_create  # noqa: E402


def fill(stream: str, n: int, start_ms: int) -> list:
    client, step = get_redis(), max(1, 86_400_000 // n)
    for first in range(0, n, 5000):
        pipe = client.pipeline(transaction=False)
        for i in range(first, min(n, first + 5000)):
            packed = events.pack(f"req-{i}", f"key{i % 20:02d}", {"requests": 1, "tokens": i % 50}, start_ms + i * step,
                                 f"/api/v1/endpoint-{i % 20}")
            pipe.xadd(stream, {events.FIELD: packed})
        pipe.execute()
    return client.xrange(stream)


def main(n: int) -> None:
    call_command("migrate_schemas", interactive=False, verbosity=0)
    tag = uuid.uuid4().hex[:10]
    workspace = workspace_create(name=f"Bench {tag}", slug=f"bench-{tag}")
    stream = redis_keys.usage_stream(workspace.pk)
    try:
        entries = fill(stream, n, int(time.time() * 1000) - 86_400_000)
        t0 = time.perf_counter()
        stored, _ = drain_workspace(workspace_id=workspace.pk, schema_name=workspace.schema_name)
        first = time.perf_counter() - t0
        for entry_id, fields in entries:
            get_redis().xadd(stream, fields, id=entry_id)
        t0 = time.perf_counter()
        again, _ = drain_workspace(workspace_id=workspace.pk, schema_name=workspace.schema_name)
        replay = time.perf_counter() - t0
        with schema_context(workspace.schema_name):
            rows, hourly = UsageEvent.objects.count(), UsageHourly.objects.count()
        assert (stored, again, rows) == (2 * n, 0, 2 * n), (stored, again, rows)
        print(f"events: {n}  rows: {rows}  hourly rollup rows: {hourly}")
        print(f"drain: {first:.2f} s = {n / first:,.0f} events/s ({rows / first:,.0f} rows/s)")
        print(f"replay of the same entries (all duplicates): {replay:.2f} s = {n / replay:,.0f} events/s")
    finally:
        get_redis().delete(stream)
        Workspace.objects.get(pk=workspace.pk).delete(force_drop=True)


if __name__ == "__main__":
    main(int(sys.argv[1]) if len(sys.argv) > 1 else 100_000)
