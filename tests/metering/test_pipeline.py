"""The usage pipeline's writes: a usage event's identity is made by the server (issue 18,
finding 1), so the caller's X-Request-ID can't merge requests, and every replay is idempotent."""

from http import HTTPStatus

import pytest
from django.db import DatabaseError, connection, transaction
from django_tenants.utils import schema_context
from prometheus_client import REGISTRY

from core import redis as tenant_redis
from core.redis import get_redis
from metering import redis_keys
from metering.models import SpooledEvent, UsageEvent
from metering.pipeline import drain as drain_module
from metering.pipeline.drain import GROUP, active_workspaces, drain_all, drain_workspace
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


# ---- the consumer group: acknowledged only after the commit, claimed from a dead consumer ----

def admit(api_client, api_key, *request_ids):
    for rid in request_ids:
        assert analyze(api_client, api_key[1], HTTP_X_REQUEST_ID=rid).status_code == HTTPStatus.OK


def fail_inserts_of(workspace, request_id: str) -> None:
    """A real PostgreSQL failure inside the drain's transaction, after its COPY: a trigger on
    the usage table refuses one request's rows (rolled back with the test)."""
    with schema_context(workspace.schema_name), connection.cursor() as cursor:
        cursor.execute(
            "CREATE FUNCTION refuse_usage() RETURNS trigger LANGUAGE plpgsql AS $$ BEGIN "
            f"IF NEW.request_id = '{request_id}' THEN RAISE EXCEPTION 'drain killed mid-batch'; END IF; "
            "RETURN NEW; END $$")
        cursor.execute(f'CREATE TRIGGER refuse_usage BEFORE INSERT ON "{UsageEvent._meta.db_table}" '
                       "FOR EACH ROW EXECUTE FUNCTION refuse_usage()")


def heal(workspace) -> None:
    with schema_context(workspace.schema_name), connection.cursor() as cursor:
        cursor.execute(f'DROP TRIGGER refuse_usage ON "{UsageEvent._meta.db_table}"')


def pending(workspace) -> dict[str, int]:
    """Entries pending per consumer of the drain's group."""
    return {c["name"].decode(): c["pending"] for c in get_redis().xinfo_consumers(stream(workspace), GROUP)}


def test_drain_workspace_killed_mid_batch_leaves_the_batch_pending_and_the_next_run_stores_it_once(
        workspace, api_key, api_client):
    # given K admitted requests, drained two at a time, and a drain that fails inside its
    # second batch's transaction, after the COPY, before the commit
    set_policy(workspace, plan="t", meters={"requests": {"hour": 100}})
    admit(api_client, api_key, *[f"request-{i}" for i in range(K)])
    fail_inserts_of(workspace, "request-3")
    # when it runs
    with pytest.raises(DatabaseError, match="drain killed mid-batch"):
        drain_workspace(workspace_id=workspace.pk, schema_name=workspace.schema_name, consumer="w1", batch=2)
    # then the first batch is stored and gone from Redis, the failed one stays pending for its consumer
    assert sorted(r for _, r, _ in stored(workspace, "requests")) == ["request-0", "request-1"]
    assert pending(workspace) == {"w1": 2}
    assert get_redis().xlen(stream(workspace)) == K - 2
    # and when the same consumer runs again, then everything is stored once: K, and Redis holds nothing
    heal(workspace)
    assert drain_workspace(workspace_id=workspace.pk, schema_name=workspace.schema_name, consumer="w1",
                           batch=2)[0] == 2 * (K - 2)
    assert sorted(r for _, r, _ in stored(workspace, "requests")) == [f"request-{i}" for i in range(K)]
    assert not get_redis().exists(stream(workspace))


def test_drain_workspace_claims_the_entries_of_a_dead_consumer_and_stores_them_once(
        workspace, api_key, api_client, monkeypatch):
    # given K requests whose drain committed and then died before its XACK
    set_policy(workspace, plan="t", meters={"requests": {"hour": 100}})
    admit(api_client, api_key, *[f"request-{i}" for i in range(K)])

    def die(*args, **kwargs):
        raise SystemExit("worker killed between commit and XACK")

    with monkeypatch.context() as m:
        m.setattr(drain_module, "_ack", die)
        with pytest.raises(SystemExit):
            drain_workspace(workspace_id=workspace.pk, schema_name=workspace.schema_name, consumer="dead")
    assert len(stored(workspace, "requests")) == K
    assert pending(workspace) == {"dead": K}
    # when another consumer runs before the dead one's entries are idle long enough, nothing moves
    assert drain_workspace(workspace_id=workspace.pk, schema_name=workspace.schema_name, consumer="live")[0] == 0
    assert pending(workspace)["dead"] == K
    # and when it runs once they are (min idle 0 here), it claims them: stored already, nothing added
    assert drain_workspace(workspace_id=workspace.pk, schema_name=workspace.schema_name, consumer="live",
                           claim_idle_ms=0)[0] == 0
    # then K events, none pending, the stream gone
    assert len(stored(workspace, "requests")) == K
    assert not get_redis().exists(stream(workspace))


def test_drain_all_drains_only_workspaces_with_a_stream(workspace, other_workspace, api_key, api_client):
    # given usage in one workspace, none in the other
    set_policy(workspace, plan="t", meters={"requests": {"hour": 100}})
    admit(api_client, api_key, "request-0", "request-1")
    # when the drain looks for work, then only that workspace has any
    assert active_workspaces() == [(workspace.pk, workspace.schema_name)]
    # and when it has drained, its emptied stream is gone, so the next run finds nothing to do
    assert drain_all() == 4
    assert active_workspaces() == []
    assert drain_all() == 0


def test_drain_workspace_keeps_a_stream_whose_entries_another_consumer_still_owes(workspace, api_key, api_client):
    # given an entry read by a consumer that has not stored it yet
    set_policy(workspace, plan="t", meters={"requests": {"hour": 100}})
    admit(api_client, api_key, "request-0")
    get_redis().xgroup_create(stream(workspace), GROUP, id="0")
    get_redis().xreadgroup(GROUP, "busy", {stream(workspace): ">"})
    # when another consumer drains the workspace
    assert drain_workspace(workspace_id=workspace.pk, schema_name=workspace.schema_name, consumer="other")[0] == 0
    # then the stream and the owed entry stay
    assert pending(workspace) == {"busy": 1, "other": 0}
    assert get_redis().xlen(stream(workspace)) == 1
