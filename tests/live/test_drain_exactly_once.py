"""Exactly once, end to end: K metered requests through gunicorn (all with one X-Request-ID),
a drain worker SIGKILLed in the middle of a batch, a restarted drain, a replay of the same
stream entries: K events, K in the rollups; and the workers' request analytics, flushed when
gunicorn stops them (worker_exit), fold into K requests."""

import os
import signal
import subprocess
import sys

import pytest
import redis
from django.conf import settings
from django.db.models import Sum
from django_tenants.utils import schema_context

from core.redis import get_redis
from metering import redis_keys
from metering.models import RequestHourly, UsageEvent, UsageHourly
from metering.pipeline.drain import drain_workspace
from metering.pipeline.request_stats import fold_all
from metering.services import policy_set
from tests.live.conftest import ROOT, server_env, stop_gunicorn

pytestmark = pytest.mark.live

K = 30
BATCH = 10


def totals(schema_name: str) -> tuple[int, int, set[str], int]:
    """(request events stored, distinct event ids, request ids seen, requests in the hourly rollups)."""
    with schema_context(schema_name):
        events = UsageEvent.objects.filter(meter="requests")
        rolled = UsageHourly.objects.filter(meter="requests").aggregate(n=Sum("events"))["n"] or 0
        return (events.count(), events.values("event_id").distinct().count(),
                set(events.values_list("request_id", flat=True)), rolled)


@pytest.mark.parametrize(("point", "stored_when_killed"), [("in-transaction", BATCH), ("before-ack", 2 * BATCH)])
def test_drain_killed_mid_batch_restarted_and_replayed_stores_k(gunicorn_factory, live_workspace_factory, point,
                                                                stored_when_killed):
    # given K admitted requests that all sent one X-Request-ID, served by two gunicorn workers
    live = live_workspace_factory(f"live-once-{point.split('-')[0]}")
    ws, schema = live.workspace, live.workspace.schema_name
    policy_set(workspace=ws, policy={"plan": "t", "meters": {"requests": {"hour": 1000}}})
    server = gunicorn_factory(workers=2)
    responses = [server.request("POST", "/api/v1/analyze", key=live.key_text, body={"text": "hello"},
                                headers={"X-Request-ID": "one-id-for-all"}) for _ in range(K)]
    assert [r.status for r in responses] == [200] * K
    stream = redis_keys.usage_stream(ws.pk)
    entries = get_redis().xrange(stream)
    assert len(entries) == K
    # when a drain worker is SIGKILLed at `point` of its second batch
    signal_key = f"test:drain-killed:{ws.pk}"
    worker = subprocess.Popen(
        [sys.executable, "-m", "tests.live.drain_worker", str(ws.pk), schema, "doomed", point, str(BATCH), signal_key],
        cwd=ROOT, env=server_env())
    try:
        waiter = redis.Redis.from_url(settings.REDIS_URL, socket_timeout=150)  # longer than the BLPOP
        reached = waiter.blpop([signal_key], timeout=120)
        assert reached is not None, "the drain worker never reached the point"
        assert int(reached[1]) == worker.pid
        os.kill(worker.pid, signal.SIGKILL)
    finally:
        if worker.poll() is None:
            worker.kill()
        worker.wait(30)
    assert worker.returncode == -signal.SIGKILL
    # then what it committed is stored, its batch in flight is pending for the dead consumer
    assert totals(schema)[0] == stored_when_killed
    # and when the drain restarts (a new consumer, which claims the dead one's entries)
    drain_workspace(workspace_id=ws.pk, schema_name=schema, consumer="restarted", claim_idle_ms=0)
    # then K, once each, all with the caller's one request id, K in the rollups, Redis empty
    assert totals(schema) == (K, K, {"one-id-for-all"}, K)
    assert not get_redis().exists(stream)
    # and when the same stream entries are replayed (same ids) and drained, still K
    for entry_id, fields in entries:
        get_redis().xadd(stream, fields, id=entry_id)
    assert drain_workspace(workspace_id=ws.pk, schema_name=schema, consumer="restarted")[0] == 0
    assert totals(schema) == (K, K, {"one-id-for-all"}, K)
    # and the workers' request analytics, flushed as gunicorn stops them, fold into K requests
    stop_gunicorn(server)
    fold_all()
    with schema_context(schema):
        assert RequestHourly.objects.aggregate(n=Sum("requests"))["n"] == K
        assert set(RequestHourly.objects.values_list("status_class", flat=True)) == {"2xx"}
