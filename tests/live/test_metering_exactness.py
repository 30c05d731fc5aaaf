"""Exact admission under concurrency: a quota of N, many more concurrent requests from
several gunicorn workers, exactly N admitted, never N+1."""

from concurrent.futures import ThreadPoolExecutor

import pytest

from core.redis import get_redis
from metering import redis_keys
from metering.services import policy_set

pytestmark = pytest.mark.live


def test_quota_admits_exactly_n_under_concurrent_load(gunicorn_factory, live_workspace_factory):
    # given a shared hour quota of 40 and a 4-worker gunicorn
    live = live_workspace_factory("live-exact")
    policy_set(workspace=live.workspace, policy={"plan": "t", "meters": {"requests": {"hour": 40}}})
    server = gunicorn_factory(workers=4)
    # when 160 requests race from 32 threads, each on its own connection
    with ThreadPoolExecutor(max_workers=32) as pool:
        responses = list(pool.map(
            lambda i: server.post("/api/v1/analyze", key=live.key_text, body={"text": f"request {i}"}),
            range(160)))
    # then exactly 40 are admitted and 120 refused, by more than one worker
    statuses = sorted(r.status for r in responses)
    assert statuses.count(200) == 40
    assert statuses.count(429) == 120
    assert len({r.pid for r in responses}) > 1
    # and the counters and the usage stream agree: 40, not 41
    redis = get_redis()
    assert redis.xlen(redis_keys.usage_stream(live.workspace.pk)) == 40
    hour_keys = list(redis.scan_iter(redis_keys.quota_pattern(live.workspace.pk, "requests", "hour")))
    assert [int(redis.get(k)) for k in hour_keys] == [40]


def test_burst_and_quota_together_never_over_admit(gunicorn_factory, live_workspace_factory):
    # given a per-key burst of 5 per minute and a larger hour quota
    live = live_workspace_factory("live-burst")
    policy_set(workspace=live.workspace,
               policy={"plan": "t", "burst": {"limit": 5, "window": 60}, "meters": {"requests": {"hour": 100}}})
    server = gunicorn_factory(workers=3)
    # when 60 requests race on one key
    with ThreadPoolExecutor(max_workers=20) as pool:
        responses = list(pool.map(lambda i: server.post("/api/v1/analyze", key=live.key_text, body={"text": "hi"}),
                                  range(60)))
    # then the burst admits 5 and names itself in every refusal
    assert [r.status for r in responses].count(200) == 5
    refused = [r for r in responses if r.status == 429]
    assert len(refused) == 55
    assert {r.json()["violated-policies"][0] for r in refused} == {"burst"}
