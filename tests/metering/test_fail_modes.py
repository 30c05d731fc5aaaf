"""Redis stopped in the middle of traffic: fail open (serve, spool, replay) or fail closed (503)."""

from http import HTTPStatus

from django.db import connection
from django_tenants.utils import schema_context

from core import redis as tenant_redis
from metering.models import SpooledEvent, UsageEvent
from metering.services import drain_all
from tests.metering.conftest import set_policy


def analyze(client, key, text="hello there"):
    return client.post("/api/v1/analyze", {"text": text}, format="json", HTTP_AUTHORIZATION=f"Bearer {key}")


def usage_request_ids(workspace) -> set[str]:
    with schema_context(workspace.schema_name):
        return set(UsageEvent.objects.filter(meter="requests").values_list("request_id", flat=True))


def test_fail_open_serves_spools_and_replays_without_losing_an_event(workspace, api_key, api_client, own_redis,
                                                                    settings):
    # given a warm process
    settings.METERING_FAIL_MODE = "open"
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
