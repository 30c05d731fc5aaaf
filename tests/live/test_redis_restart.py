"""Redis restarting under load (issue 18, finding 11): real gunicorn, a Redis with AOF that is
stopped for a few seconds and started again from its AOF (answering -LOADING for ~3 s while it
reads it), clients calling all the while. Fail open must serve every request (never a 5xx) and
bill each admitted request once."""

import threading
import time
from concurrent.futures import ThreadPoolExecutor

import pytest
import redis
from django_tenants.utils import schema_context

from core import redis as tenant_redis
from metering import redis_keys
from metering.models import SpooledEvent, UsageEvent
from metering.pipeline import spool
from metering.pipeline.drain import drain_all
from metering.services import policy_set

pytestmark = pytest.mark.live

CLIENTS = 10


def wait_until(condition, *, timeout: float, what: str) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        assert time.monotonic() < deadline, f"timed out waiting for {what}"
        time.sleep(0.05)


def loaded() -> bool:
    try:
        return tenant_redis.get_redis().info("persistence")["loading"] == 0
    except redis.RedisError:  # a reply slower than the client's timeout while it loads
        return False


def spooled(workspace) -> int:
    with schema_context("public"):
        return SpooledEvent.objects.filter(workspace_id=workspace.pk).count()


def test_analyze_serves_every_request_and_bills_each_once_while_redis_restarts(own_redis, gunicorn_factory,
                                                                               live_workspace_factory, monkeypatch):
    # given a 2-worker gunicorn failing open, on a Redis with AOF (own_redis) that will take a few
    # seconds to load it when restarted (8,000 commands and the traffic's, at 0.3 ms each), and a
    # quota far away
    own_redis.pad_aof(commands=8_000)
    live = live_workspace_factory("live-restart")
    policy_set(workspace=live.workspace, policy={"plan": "t", "meters": {"requests": {"hour": 1_000_000}}})
    server = gunicorn_factory(workers=2, env={"METERING_FAIL_MODE": "open"})
    stream = redis_keys.usage_stream(live.workspace.pk)
    statuses: list[int] = []
    done = threading.Event()

    def client(i: int) -> None:
        n = 0
        while not done.is_set():
            n += 1
            statuses.append(server.post("/api/v1/analyze", key=live.key_text,
                                        body={"text": f"client {i} request {n}"}).status)

    # when clients call while Redis is up, then stopped, then started again from its AOF
    with ThreadPoolExecutor(max_workers=CLIENTS) as pool:
        futures = [pool.submit(client, i) for i in range(CLIENTS)]
        try:
            wait_until(lambda: len(statuses) >= 100, timeout=20, what="traffic through Redis")
            own_redis.stop()
            stopped = time.monotonic()
            wait_until(lambda: spooled(live.workspace) >= 50 and time.monotonic() - stopped >= 2, timeout=20,
                       what="requests admitted while Redis is down")
            at_restart = spooled(live.workspace)
            own_redis.start_loading(key_load_delay_us=300)
            tenant_redis.reset()
            wait_until(loaded, timeout=30, what="Redis to load its AOF")
            served_while_loading = spooled(live.workspace) - at_restart
            # loaded, the AOF has every event counted before the stop; new ones are counted again
            before = tenant_redis.get_redis().xlen(stream)
            wait_until(lambda: tenant_redis.get_redis().xlen(stream) >= before + 100, timeout=20,
                       what="traffic through the restarted Redis")
        finally:
            done.set()
            for future in futures:
                future.result()
    # then no request got a 5xx, and all were admitted, those that came while Redis loaded too
    assert served_while_loading > 0
    assert len(statuses) >= 250
    assert [s for s in statuses if s >= 500] == []
    assert set(statuses) == {200}
    # and once the spool is replayed and the stream drained, each admitted request is one event
    # (also those whose check ran just as Redis stopped: served, spooled in doubt, settled)
    monkeypatch.setattr(spool, "SETTLE_SECONDS", 0)
    while spooled(live.workspace):
        drain_all()
    drain_all()
    with schema_context(live.workspace.schema_name):
        stored = UsageEvent.objects.filter(meter="requests").count()
    assert stored == statuses.count(200)
