"""The usage pipeline's writes: a usage event's identity is made by the server (issue 18,
finding 1), so the caller's X-Request-ID can't merge requests, and every replay is idempotent."""

from http import HTTPStatus

import pytest
from django.db import transaction
from django_tenants.utils import schema_context
from prometheus_client import REGISTRY

from core import redis as tenant_redis
from core.redis import get_redis
from metering import redis_keys
from metering.models import SpooledEvent, UsageEvent
from metering.pipeline.drain import drain_workspace
from metering.pipeline.spool import replay_spool
from tests.metering.conftest import set_policy

K = 5


def analyze(client, key, **headers):
    return client.post("/api/v1/analyze", {"text": "hello there world"}, format="json",
                       HTTP_AUTHORIZATION=f"Bearer {key}", **headers)


def ingested() -> float:
    return REGISTRY.get_sample_value("tollgate_usage_events_ingested_total") or 0.0


def stored(workspace, meter: str) -> list[tuple]:
    with schema_context(workspace.schema_name):
        return list(UsageEvent.objects.filter(meter=meter).values_list("event_id", "request_id", "units"))


def drain(workspace) -> int:
    return drain_workspace(workspace_id=workspace.pk, schema_name=workspace.schema_name)[0]


def stream(workspace) -> str:
    return redis_keys.usage_stream(workspace.pk)


def spool_while_redis_is_down(api_client, api_key, own_redis, *request_ids):
    """Admit one request per id with Redis stopped (fail open: spooled), then bring Redis back."""
    own_redis.stop()
    responses = [analyze(api_client, api_key[1], HTTP_X_REQUEST_ID=rid) for rid in request_ids]
    assert [r.status_code for r in responses] == [HTTPStatus.OK] * len(request_ids)
    own_redis.start()
    tenant_redis.reset()


def test_drain_workspace_stores_every_request_that_shared_one_request_id(workspace, api_key, api_client):
    # given K admitted requests that all sent the same X-Request-ID
    set_policy(workspace, plan="t", meters={"requests": {"hour": 100}})
    responses = [analyze(api_client, api_key[1], HTTP_X_REQUEST_ID="client-chosen-id") for _ in range(K)]
    assert [r.status_code for r in responses] == [HTTPStatus.OK] * K
    assert {r["X-Request-ID"] for r in responses} == {"client-chosen-id"}
    # when the stream is drained
    drain(workspace)
    # then each request is an event of its own for every meter, still correlated by the caller's id
    for meter in ("requests", "tokens"):
        rows = stored(workspace, meter)
        assert len(rows) == K
        assert len({event_id for event_id, _, _ in rows}) == K
        assert {request_id for _, request_id, _ in rows} == {"client-chosen-id"}
    assert [units for _, _, units in stored(workspace, "tokens")] == [3] * K


def test_drain_workspace_stores_entries_read_twice_once_and_counts_what_it_stored(workspace, api_key, api_client):
    # given K admitted requests, drained once
    set_policy(workspace, plan="t", meters={"requests": {"hour": 100}})
    for _ in range(K):
        assert analyze(api_client, api_key[1]).status_code == HTTPStatus.OK
    entries = get_redis().xrange(stream(workspace))
    before = ingested()
    assert drain(workspace) == 2 * K  # requests and tokens
    assert ingested() - before == 2 * K
    # when the same entries come back (the drain stored them, then lost Redis before XDEL)
    client = get_redis()
    client.delete(stream(workspace))  # a stream only takes ids above its last one
    for entry_id, fields in entries:
        client.xadd(stream(workspace), fields, id=entry_id)
    again = drain(workspace)
    # then nothing more is stored, and the ingested metric counts stored rows, not rows read
    assert again == 0
    assert ingested() - before == 2 * K
    assert len(stored(workspace, "requests")) == K
    assert client.xlen(stream(workspace)) == 0


def test_replay_spool_interrupted_after_its_xadd_and_run_again_stores_the_event_once(
        workspace, api_key, api_client, own_redis, settings):
    # given one request admitted and spooled while Redis was down
    settings.METERING_FAIL_MODE = "open"
    set_policy(workspace, plan="t", meters={"requests": {"hour": 100}})
    spool_while_redis_is_down(api_client, api_key, own_redis, "spooled-request-1")
    before = ingested()
    # when a replay puts it in the stream but its commit is lost, the drain runs, and the replay runs again
    with pytest.raises(RuntimeError), transaction.atomic():
        assert replay_spool() == 1
        raise RuntimeError("the spool's commit was lost")
    with schema_context("public"):
        assert SpooledEvent.objects.count() == 1
    first = drain(workspace)
    assert replay_spool() == 1
    second = drain(workspace)
    # then the event is stored once per meter, and the metric counts it once
    assert (first, second) == (2, 0)
    assert [(r, u) for _, r, u in stored(workspace, "requests")] == [("spooled-request-1", 1)]
    assert ingested() - before == 2
    with schema_context("public"):
        assert SpooledEvent.objects.count() == 0


def test_replay_spool_keeps_two_spooled_requests_with_one_request_id_apart(workspace, api_key, api_client,
                                                                          own_redis, settings):
    # given two requests with the same X-Request-ID admitted and spooled while Redis was down
    settings.METERING_FAIL_MODE = "open"
    set_policy(workspace, plan="t", meters={"requests": {"hour": 100}})
    spool_while_redis_is_down(api_client, api_key, own_redis, "same-client-id", "same-client-id")
    # when the spool is replayed and drained
    assert replay_spool() == 2
    drain(workspace)
    # then they are two events
    rows = stored(workspace, "requests")
    assert [r for _, r, _ in rows] == ["same-client-id", "same-client-id"]
    assert len({event_id for event_id, _, _ in rows}) == 2
    assert all(event_id.startswith("spool-") for event_id, _, _ in rows)
