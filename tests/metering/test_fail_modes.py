"""Redis stopped in the middle of traffic: fail open (serve, spool, replay) or fail closed (503)."""

import re
import time
from http import HTTPStatus

import redis
from django.db import connection
from django_tenants.utils import schema_context

from core import redis as tenant_redis
from metering import redis_keys
from metering.models import SpooledEvent, UsageEvent
from metering.pipeline import spool
from metering.pipeline.drain import drain_all
from tests.metering.conftest import set_policy
from tests.servers import CuttingProxy


def analyze(client, key, text="hello there"):
    return client.post("/api/v1/analyze", {"text": text}, format="json", HTTP_AUTHORIZATION=f"Bearer {key}")


def usage_request_ids(workspace) -> set[str]:
    with schema_context(workspace.schema_name):
        return set(UsageEvent.objects.filter(meter="requests").values_list("request_id", flat=True))


def test_fail_open_serves_spools_and_replays_without_losing_an_event(workspace, api_key, api_client, own_redis,
                                                                    settings, monkeypatch):
    # given a warm process
    settings.METERING_FAIL_MODE = "open"
    # (the first request after the stop finds its connection closed after sending: in doubt)
    monkeypatch.setattr(spool, "SETTLE_SECONDS", 0)
    set_policy(workspace, plan="t", meters={"requests": {"hour": 100}})
    first = analyze(api_client, api_key[1])
    assert first.status_code == HTTPStatus.OK
    # when Redis dies and three more requests come
    own_redis.stop()
    during = [analyze(api_client, api_key[1]) for _ in range(3)]
    # then they are served, with headers from the in-process limiter, and spooled in PostgreSQL
    assert [r.status_code for r in during] == [200, 200, 200]
    assert all("RateLimit" in r for r in during)
    with schema_context("public"):
        assert SpooledEvent.objects.count() == 3
        # the first was sent on the connection the stop closed: in doubt, it did not run
        assert SpooledEvent.objects.filter(in_doubt=True).count() == 1
    # when Redis comes back (with what it had persisted) and the drain job runs
    own_redis.start()
    tenant_redis.reset()
    drain_all()
    # then every admitted request is a usage event, once, and the spool is empty
    ids = {first["X-Request-ID"], *(r["X-Request-ID"] for r in during)}
    assert usage_request_ids(workspace) == ids
    with schema_context("public"):
        assert SpooledEvent.objects.count() == 0
    # and the quota counts the requests served while Redis was away on top of the earlier one
    limits = api_client.get("/api/v1/limits", HTTP_AUTHORIZATION=f"Bearer {api_key[1]}").json()["limits"]
    assert next(i for i in limits if i["name"] == "hour")["used"] == 4
    # a second drain adds nothing (idempotent)
    drain_all()
    with schema_context(workspace.schema_name):
        assert UsageEvent.objects.filter(meter="requests").count() == 4
    connection.set_schema_to_public()


def test_fail_open_local_limiter_still_enforces_hard_limits(workspace, api_key, api_client, own_redis, settings):
    settings.METERING_FAIL_MODE = "open"
    set_policy(workspace, plan="t", meters={"requests": {"hour": 2}})
    assert analyze(api_client, api_key[1]).status_code == HTTPStatus.OK
    own_redis.stop()
    codes = [analyze(api_client, api_key[1]).status_code for _ in range(3)]
    assert codes == [200, 200, 429]


def test_fail_closed_answers_503_and_counts_nothing(workspace, api_key, api_client, own_redis, settings):
    # given
    settings.METERING_FAIL_MODE = "closed"
    set_policy(workspace, plan="t", meters={"requests": {"hour": 100}})
    assert analyze(api_client, api_key[1]).status_code == HTTPStatus.OK
    # when Redis is down
    own_redis.stop()
    response = analyze(api_client, api_key[1])
    # then a clear 503 problem, never a 500, and nothing spooled
    assert response.status_code == HTTPStatus.SERVICE_UNAVAILABLE
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == "metering_unavailable"
    assert response["Retry-After"] == "5"
    with schema_context("public"):
        assert SpooledEvent.objects.count() == 0
    # and service resumes when Redis returns
    own_redis.start()
    tenant_redis.reset()
    assert analyze(api_client, api_key[1]).status_code == HTTPStatus.OK


def test_fail_open_serves_and_spools_while_redis_is_loading_its_data(workspace, api_key, api_client, own_redis,
                                                                    settings, caplog):
    # given a warm process, and a Redis restarting from an AOF it takes seconds to load
    settings.METERING_FAIL_MODE = "open"
    set_policy(workspace, plan="t", meters={"requests": {"hour": 100}})
    assert analyze(api_client, api_key[1]).status_code == HTTPStatus.OK
    own_redis.restart_loading()
    # when requests come while it answers -LOADING (the first on a connection the restart broke,
    # the second on the new one)
    during = [analyze(api_client, api_key[1]) for _ in range(2)]
    # then they are served from the in-process limiter, never a 500, and spooled
    assert [r.status_code for r in during] == [HTTPStatus.OK, HTTPStatus.OK]
    assert all("RateLimit" in r for r in during)
    with schema_context("public"):
        assert sorted(SpooledEvent.objects.values_list("request_id", flat=True)) == sorted(
            r["X-Request-ID"] for r in during)
    # and the reason is logged
    assert caplog.text.count("BusyLoadingError") == 2


def test_fail_closed_answers_503_while_redis_is_loading_its_data(workspace, api_key, api_client, own_redis,
                                                                 settings):
    # given
    settings.METERING_FAIL_MODE = "closed"
    set_policy(workspace, plan="t", meters={"requests": {"hour": 100}})
    assert analyze(api_client, api_key[1]).status_code == HTTPStatus.OK
    own_redis.restart_loading()
    # when
    response = analyze(api_client, api_key[1])
    # then
    assert response.status_code == HTTPStatus.SERVICE_UNAVAILABLE
    assert response.json()["code"] == "metering_unavailable"
    with schema_context("public"):
        assert SpooledEvent.objects.count() == 0


def demote_to_replica(server):
    """Make `server` a replica of a new primary, as a failover leaves the old primary: it then
    answers writes with -READONLY. Returns the primary (destroy it)."""
    from tests.servers import ThrowawayRedis

    primary = ThrowawayRedis().start()
    admin = redis.Redis.from_url(server.url)
    admin.replicaof("127.0.0.1", primary.port)
    deadline = time.monotonic() + 10
    while admin.info("replication").get("master_link_status") != "up":
        assert time.monotonic() < deadline, "the replica did not sync"
        time.sleep(0.05)
    admin.close()
    return primary


def test_fail_open_serves_and_spools_when_redis_answers_readonly(workspace, api_key, api_client, own_redis,
                                                                 settings, caplog):
    # given a warm process whose Redis became a replica (a failover elsewhere)
    settings.METERING_FAIL_MODE = "open"
    set_policy(workspace, plan="t", meters={"requests": {"hour": 100}})
    assert analyze(api_client, api_key[1]).status_code == HTTPStatus.OK
    primary = demote_to_replica(own_redis)
    try:
        # when a request comes
        response = analyze(api_client, api_key[1])
    finally:
        primary.destroy()
    # then it is served and spooled, and the READONLY reply is logged
    assert response.status_code == HTTPStatus.OK
    with schema_context("public"):
        assert list(SpooledEvent.objects.values_list("request_id", flat=True)) == [response["X-Request-ID"]]
    assert "READONLY" in caplog.text


def test_fail_closed_answers_503_when_redis_answers_readonly(workspace, api_key, api_client, own_redis, settings):
    # given
    settings.METERING_FAIL_MODE = "closed"
    set_policy(workspace, plan="t", meters={"requests": {"hour": 100}})
    assert analyze(api_client, api_key[1]).status_code == HTTPStatus.OK
    primary = demote_to_replica(own_redis)
    try:
        # when
        response = analyze(api_client, api_key[1])
    finally:
        primary.destroy()
    # then
    assert response.status_code == HTTPStatus.SERVICE_UNAVAILABLE
    assert response.json()["code"] == "metering_unavailable"


def test_a_check_whose_reply_was_lost_is_served_and_billed_once(workspace, api_key, api_client, own_redis,
                                                                 settings, monkeypatch):
    # given the app's Redis behind a proxy that will cut the metering check's reply (integers)
    settings.METERING_FAIL_MODE = "open"
    set_policy(workspace, plan="t", meters={"requests": {"hour": 100}})
    proxy = CuttingProxy(own_redis.port, cut=lambda reply: re.match(rb"\*\d+\r\n:", reply) is not None)
    settings.REDIS_URL = proxy.url
    tenant_redis.reset()
    try:
        # when a request's check runs in Redis and its reply is lost on the way
        response = analyze(api_client, api_key[1])
    finally:
        proxy.close()
        settings.REDIS_URL = own_redis.url
        tenant_redis.reset()
    # then it is served from the in-process limiter and spooled in doubt, while Redis counted it
    assert response.status_code == HTTPStatus.OK
    with schema_context("public"):
        assert list(SpooledEvent.objects.values_list("request_id", "in_doubt")) == [(response["X-Request-ID"], True)]
    direct = redis.Redis.from_url(own_redis.url)
    assert direct.xlen(redis_keys.usage_stream(workspace.pk)) == 1
    # when the drain runs before the event in doubt has settled, it waits
    drain_all()
    with schema_context("public"):
        assert SpooledEvent.objects.count() == 1
    # and once it has settled
    monkeypatch.setattr(spool, "SETTLE_SECONDS", 0)
    drain_all()
    # then the request is one usage event, counted once in its window, and the spool is empty
    assert usage_request_ids(workspace) == {response["X-Request-ID"]}
    with schema_context(workspace.schema_name):
        assert UsageEvent.objects.filter(meter="requests").count() == 1
    with schema_context("public"):
        assert SpooledEvent.objects.count() == 0
    [hour] = direct.scan_iter(redis_keys.quota_pattern(workspace.pk, "requests", "hour"))
    assert direct.get(hour) == b"1"
    connection.set_schema_to_public()


def test_limits_answers_503_not_500_while_redis_is_down_or_loading(workspace, api_key, api_client, own_redis):
    # given
    set_policy(workspace, plan="t", meters={"requests": {"hour": 100}})

    def limits():
        return api_client.get("/api/v1/limits", HTTP_AUTHORIZATION=f"Bearer {api_key[1]}")

    assert limits().status_code == HTTPStatus.OK
    # when Redis is loading its data after a restart, then when it is down
    own_redis.restart_loading()
    loading = limits()
    own_redis.stop()
    down = limits()
    # then a clear 503 problem each time (the counts live only in Redis)
    for response in (loading, down):
        assert response.status_code == HTTPStatus.SERVICE_UNAVAILABLE
        assert response["Content-Type"] == "application/problem+json"
        assert response.json()["code"] == "metering_unavailable"
        assert response["Retry-After"] == "5"
