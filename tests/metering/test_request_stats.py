"""Request analytics after the response: recorded in process, flushed into Redis, folded once
into the workspace's RequestHourly (and the platform's hourly totals) by the drain."""

from datetime import UTC, datetime, timedelta
from http import HTTPStatus

import pytest
from django.db import connection
from django_tenants.utils import schema_context

from core import redis as tenant_redis
from core.redis import get_redis
from metering import redis_keys
from metering.analytics import histogram, platform, recorder, selectors
from metering.models import RequestHourly, RequestTotalsHourly
from metering.pipeline import request_stats
from metering.pipeline.request_stats import fold_all
from tests.metering.conftest import set_policy

HOUR = datetime(2026, 3, 31, 23, tzinfo=UTC)


def analyze(client, key):
    return client.post("/api/v1/analyze", {"text": "hello"}, format="json", HTTP_AUTHORIZATION=f"Bearer {key}")


def hourly(workspace) -> list[tuple]:
    with schema_context(workspace.schema_name):
        rows = list(RequestHourly.objects.order_by("status_class").values_list(
            "hour", "key_id", "endpoint", "status_class", "requests", "errors", "latency_sum_us", "buckets"))
    connection.set_schema_to_public()
    return rows


def record(workspace, status="2xx", latency_us=1500, key_id="k1", endpoint="/api/v1/analyze", at=HOUR):
    recorder.record(workspace_id=workspace.pk, key_id=key_id, endpoint=endpoint, status_class=status,
                    at=at.timestamp() + 5, latency_us=latency_us)


def test_a_metered_request_is_recorded_after_its_response_with_its_status_class(workspace, api_key, api_client,
                                                                                  clock):
    # given a quota of one request an hour
    set_policy(workspace, plan="t", meters={"requests": {"hour": 1}})
    # when two metered requests and one unmetered are answered
    assert analyze(api_client, api_key[1]).status_code == HTTPStatus.OK
    assert analyze(api_client, api_key[1]).status_code == HTTPStatus.TOO_MANY_REQUESTS
    assert api_client.get("/api/v1/info", HTTP_AUTHORIZATION=f"Bearer {api_key[1]}").status_code == HTTPStatus.OK
    # then the process holds one admitted 2xx and one refusal, nothing for /info
    taken = recorder.take()
    assert sorted((g[1], g[2], g[3], s.requests) for g, s in taken.items()) == [
        (api_key[0].key_id, "/api/v1/analyze", "2xx", 1), (api_key[0].key_id, "/api/v1/analyze", "refused", 1)]
    assert {g[4] for g in taken} == {int(HOUR.timestamp())}
    assert all(s.latency_us > 0 and sum(s.buckets) == 1 for s in taken.values())


def test_flushes_of_many_processes_fold_into_one_row_per_group(workspace):
    # given two flushes (two processes, or one process twice) of the same group, and an error
    record(workspace, latency_us=1000)
    record(workspace, latency_us=3000)
    assert recorder.flush() == 1
    record(workspace, latency_us=2_000_000)
    record(workspace, status="5xx", latency_us=500)
    assert recorder.flush() == 2
    # when the drain folds
    assert fold_all() == 4
    # then
    rows = hourly(workspace)
    assert [r[:7] for r in rows] == [(HOUR, "k1", "/api/v1/analyze", "2xx", 3, 0, 2_004_000),
                                     (HOUR, "k1", "/api/v1/analyze", "5xx", 1, 1, 500)]
    expected = histogram.empty()
    for v in (1000, 3000, 2_000_000):
        expected[histogram.bucket_of(v)] += 1
    assert rows[0][7] == expected
    with schema_context("public"):
        assert list(RequestTotalsHourly.objects.values_list("workspace_id", "hour", "requests", "errors", "refused")) \
            == [(workspace.pk, HOUR, 4, 1, 0)]
    assert not get_redis().exists(redis_keys.request_stats(workspace.pk))
    assert not get_redis().smembers(redis_keys.request_stats_pending())


def test_a_fold_killed_after_its_commit_is_not_added_twice(workspace, monkeypatch):
    # given K requests flushed, and a fold that dies between its commit and deleting the batch
    for _ in range(7):
        record(workspace)
    recorder.flush()
    with monkeypatch.context() as m:
        m.setattr(request_stats, "_DONE", "return redis.error_reply('killed after the commit')")
        assert fold_all() == 0  # logged, the workspace left marked
    assert hourly(workspace)[0][4] == 7
    assert get_redis().exists(redis_keys.request_stats_folding(workspace.pk))
    # and more requests flushed meanwhile
    record(workspace)
    recorder.flush()
    # when the next drain folds
    fold_all()
    # then the batch it had already added is not added again: 7 + 1
    assert hourly(workspace)[0][4] == 8
    assert not get_redis().exists(redis_keys.request_stats_folding(workspace.pk))
    assert not get_redis().exists(redis_keys.request_stats(workspace.pk))


def test_a_flush_while_redis_is_down_keeps_its_counts_for_the_next(workspace, own_redis):
    record(workspace)
    own_redis.stop()
    assert recorder.flush() == 0
    record(workspace)
    own_redis.start()
    tenant_redis.reset()
    assert recorder.flush() == 1
    fold_all()
    assert hourly(workspace)[0][4] == 2


def test_key_activity_counts_calls_of_the_workspace_keys_only(workspace, other_workspace, api_key):
    # given calls of acme's key in the window and before it, and a key id of nobody's
    record(workspace, key_id=api_key[0].key_id)
    record(workspace, key_id=api_key[0].key_id, status="refused")
    record(workspace, key_id=api_key[0].key_id, at=HOUR - timedelta(days=2))
    recorder.flush()
    fold_all()
    # when
    activity = selectors.key_activity(workspace=workspace, key_ids=[api_key[0].key_id, "nosuchkey"],
                                      since=HOUR - timedelta(hours=23))
    # then
    assert activity == {api_key[0].key_id: {"calls": 2, "last_used": None}}
    assert selectors.key_activity(workspace=other_workspace, key_ids=[api_key[0].key_id], since=HOUR) == {}


def test_platform_usage_sums_every_workspace_and_measures_the_drain_lag(workspace, other_workspace, api_key,
                                                                        api_client):
    # given requests in two workspaces, and an admitted usage event not drained yet
    for _ in range(3):
        record(workspace)
    record(workspace, status="4xx")
    record(other_workspace, status="refused")
    recorder.flush()
    fold_all()
    set_policy(workspace, plan="t", meters={"requests": {"hour": 10}})
    assert analyze(api_client, api_key[1]).status_code == HTTPStatus.OK
    # when
    usage = platform.platform_usage(since=HOUR)
    # then
    assert (usage["requests"], usage["errors"], usage["refused"], usage["error_rate"]) == (5, 1, 1, 0.2)
    assert [(w["slug"], w["requests"]) for w in usage["top_workspaces"]] == [("acme", 4), ("globex", 1)]
    assert usage["drain"]["streams"] == 1 and usage["drain"]["lag_seconds"] >= 0


@pytest.mark.parametrize("status", ["2xx", "refused"])
def test_latency_series_leaves_refusals_out(workspace, status):
    record(workspace, status=status, latency_us=750)
    recorder.flush()
    fold_all()
    series = selectors.latency_series(workspace=workspace, start=HOUR, end=HOUR + timedelta(hours=1))
    assert series == ([{"time": "2026-03-31T23:00:00Z", "requests": 1, "avg": 0.75, "p50": 0.8, "p95": 0.8,
                        "p99": 0.8}] if status == "2xx" else [])


def test_a_deleted_workspace_is_unmarked(workspace):
    get_redis().sadd(redis_keys.request_stats_pending(), 999_999)
    fold_all()
    assert not get_redis().sismember(redis_keys.request_stats_pending(), 999_999)

