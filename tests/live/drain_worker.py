"""A drain worker process for tests/live/test_drain_exactly_once.py, to be killed mid-drain.

    python -m tests.live.drain_worker WORKSPACE_ID SCHEMA CONSUMER POINT BATCH SIGNAL_KEY

Drains the workspace's stream BATCH entries at a time, as the Celery task does, until it
reaches POINT of its second batch:
- "in-transaction": the batch COPYed and inserted, its transaction not committed;
- "before-ack": the batch committed, not acknowledged (XACK) yet.
There it pushes its pid onto SIGNAL_KEY (Redis) and waits for a signal: the test kills it
with SIGKILL at that exact point, no sleep involved. Nothing here is imported by the app.
"""

import os
import signal
import sys

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.test")
django.setup()

from core.redis import get_redis  # noqa: E402 - after django.setup()
from metering.pipeline import drain, rollups  # noqa: E402

workspace_id, schema_name, consumer, point, batch, signal_key = sys.argv[1:7]
seen = {"batches": 0}


def stop_here_on_the_second(original):
    def wrapper(*args, **kwargs):
        seen["batches"] += 1
        if seen["batches"] == 2:
            get_redis().rpush(signal_key, os.getpid())
            while True:
                signal.pause()  # until SIGKILL
        return original(*args, **kwargs)

    return wrapper


if point == "in-transaction":
    rollups.rollup_hours = stop_here_on_the_second(rollups.rollup_hours)  # inside usage_events_store's atomic
elif point == "before-ack":
    drain._ack = stop_here_on_the_second(drain._ack)  # after usage_events_store committed
else:
    raise SystemExit(f"unknown point {point!r}")
drain.drain_workspace(workspace_id=int(workspace_id), schema_name=schema_name, consumer=consumer, batch=int(batch))
raise SystemExit("drained everything without reaching the point: the test's batches are wrong")
