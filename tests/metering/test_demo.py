"""Demo mode: keyless calls to /api/v1/analyze, on a per-address quota of their own in the demo
workspace, marked X-Demo-Mode, never counted against any workspace's limits."""

import time
from http import HTTPStatus

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext
from rest_framework.test import APIClient

from core import invalidation
from core.redis import get_redis
from metering import redis_keys
from metering.pipeline.events import parse
from tests.apikeys.conftest import problem_of
from tests.conftest import _held_for_the_module
from tests.metering.conftest import set_policy
from tests.metering.test_api import RedisCalls, analyze, parse_sf_list


@pytest.fixture(scope="module")
def _module_demo(django_db_setup, django_db_blocker):
    yield from _held_for_the_module("demo", django_db_blocker)


@pytest.fixture
def demo(_module_demo, settings):
    from tenants.models import Workspace

    settings.DEMO_QUOTA, settings.DEMO_QUOTA_TOTAL = 3, 100
    return Workspace.objects.get(pk=_module_demo)


def keyless(ip="203.0.113.10", host="localhost", text="I love this"):
    client = APIClient(HTTP_HOST=host, REMOTE_ADDR=ip)
    return client.post("/api/v1/analyze", {"text": text}, format="json")


def test_a_keyless_call_is_served_in_demo_mode(demo, clock):
    # when
    response = keyless()
    # then
    assert response.status_code == HTTPStatus.OK, response.content
    assert response["X-Demo-Mode"] == "true"
    assert response.json()["sentiment"]["label"] == "positive"
    assert parse_sf_list(response["RateLimit-Policy"]) == {"hour": {"q": 3, "w": 3600},
                                                           "demo-total-hour": {"q": 100, "w": 3600}}
    assert parse_sf_list(response["RateLimit"])["hour"]["r"] == 2
    assert response["X-RateLimit-Limit"] == "3" and response["X-RateLimit-Remaining"] == "2"
    # counted in the demo workspace's usage, as a demo call
    entries = get_redis().xrange(redis_keys.usage_stream(demo.pk))
    assert [parse(fields)["key"] for _, fields in entries] == ["demo"]
    assert dict(parse(entries[0][1])["meters"]) == {"requests": 1, "tokens": 3}


def test_the_demo_quota_runs_out_with_a_429_pointing_to_signup(demo, clock):
    # given the address's quota used
    assert [keyless(host="127.0.0.1").status_code for _ in range(3)] == [200] * 3
    # when
    response = keyless(host="127.0.0.1")
    # then: where to sign up comes from the configured site URL, not from this request's Host
    assert response.status_code == HTTPStatus.TOO_MANY_REQUESTS
    assert response["X-Demo-Mode"] == "true" and response["Retry-After"] == "2"
    body = problem_of(response)
    assert body["code"] == "demo_quota_exceeded" and body["violated-policies"] == ["hour"]
    assert body["type"] == "https://iana.org/assignments/http-problem-types#quota-exceeded"
    assert body["signup_url"] == "http://localhost/signup/" and "http://localhost/signup/" in body["detail"]
    assert parse_sf_list(response["RateLimit"])["hour"]["r"] == 0


def test_each_address_has_its_own_quota_an_ipv6_slash_64_one(demo, clock):
    for _ in range(3):
        keyless(ip="203.0.113.10")
    assert keyless(ip="203.0.113.10").status_code == HTTPStatus.TOO_MANY_REQUESTS
    assert keyless(ip="203.0.113.11").status_code == HTTPStatus.OK
    # one host stepping through its /64 is one caller
    assert [keyless(ip=f"2001:db8:1:2::{n}").status_code for n in range(1, 5)] == [200, 200, 200, 429]
    assert keyless(ip="2001:db8:1:3::1").status_code == HTTPStatus.OK


def test_every_address_together_has_a_total_cap(demo, clock, settings):
    settings.DEMO_QUOTA_TOTAL = 4
    statuses = [keyless(ip=f"198.51.100.{n}").status_code for n in range(1, 7)]
    assert statuses == [200, 200, 200, 200, 429, 429]
    assert problem_of(keyless(ip="198.51.100.99"))["violated-policies"] == ["demo-total-hour"]


def test_demo_calls_never_count_against_a_workspace(demo, workspace, api_key, api_client, owner, clock):
    # given a real workspace and the demo workspace's own key, each with one call counted
    from apikeys.services import apikey_create

    set_policy(workspace, plan="t", burst={"limit": 50, "window": 1}, meters={"requests": {"hour": 10, "day": 10}})
    set_policy(demo, plan="t", burst={"limit": 50, "window": 1}, meters={"requests": {"hour": 10, "day": 10}})
    _, demo_key = apikey_create(workspace=demo, name="demo key", scopes=["read", "write"], actor=None)
    for key in (api_key[1], demo_key):
        assert analyze(api_client, key).status_code == HTTPStatus.OK
    before = {k: api_client.get("/api/v1/limits", HTTP_AUTHORIZATION=f"Bearer {k}").json() for k in (api_key[1], demo_key)}
    # when keyless callers use the demo, past its quota
    for n in range(20):
        keyless(ip=f"192.0.2.{n % 5}")
    # then neither workspace's counters moved
    after = {k: api_client.get("/api/v1/limits", HTTP_AUTHORIZATION=f"Bearer {k}").json() for k in (api_key[1], demo_key)}
    assert after == before
    assert [item["used"] for item in after[api_key[1]]["limits"] if item["window"] == "hour"] == [1]


def test_no_demo_workspace_no_demo(settings, clock):
    # given no workspace of the configured name (the module's `demo` may exist)
    settings.DEMO_QUOTA, settings.DEMO_WORKSPACE = 3, "nodemo"
    response = keyless()
    assert response.status_code == HTTPStatus.UNAUTHORIZED
    body = problem_of(response)
    assert body["code"] == "authentication_required" and "X-Demo-Mode" not in response


def test_demo_mode_off_or_elsewhere_is_a_401(demo, workspace, settings, api_client, clock):
    # only the endpoint that allows it
    assert api_client.get("/api/v1/limits", REMOTE_ADDR="203.0.113.10").status_code == HTTPStatus.UNAUTHORIZED
    # only on the public host, not a workspace's
    assert keyless(host="acme.localhost").status_code == HTTPStatus.UNAUTHORIZED
    # a key that is wrong is not a keyless call
    bad = APIClient(HTTP_HOST="localhost").post("/api/v1/analyze", {"text": "hi"}, format="json",
                                                 HTTP_AUTHORIZATION="Bearer tg_live_nope")
    assert bad.status_code == HTTPStatus.UNAUTHORIZED and "X-Demo-Mode" not in bad
    # turned off
    settings.DEMO_QUOTA = 0
    assert keyless().status_code == HTTPStatus.UNAUTHORIZED


def test_a_suspended_demo_workspace_serves_no_demo(demo, committed, clock):
    from tenants.services import workspace_set_status

    assert keyless().status_code == HTTPStatus.OK
    with committed():
        workspace_set_status(workspace=demo, status="suspended")
    assert keyless().status_code == HTTPStatus.UNAUTHORIZED


def test_steady_state_keyless_call_costs_zero_sql_and_one_redis_round_trip(demo, monkeypatch):
    # given a warm process (as the keyed test: listener connected, caches filled, script loaded)
    invalidation.ensure_listener()
    deadline = time.monotonic() + 5
    while not invalidation.listener_connected() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert invalidation.listener_connected()
    assert keyless().status_code == HTTPStatus.OK
    redis_calls = RedisCalls(monkeypatch)
    # when
    with CaptureQueriesContext(connection) as queries:
        response = keyless()
    # then
    assert response.status_code == HTTPStatus.OK and response["X-Demo-Mode"] == "true"
    assert [q["sql"] for q in queries.captured_queries] == []
    assert redis_calls.commands == ["EVALSHA"]
    assert redis_calls.writes == 1


def test_the_reconciliation_leaves_demo_calls_out(demo, clock):
    # given the demo workspace's own keyed call and two keyless ones, stored by the drain
    from datetime import UTC, datetime

    from apikeys.services import apikey_create
    from metering import windows
    from metering.pipeline.drain import drain_workspace
    from metering.pipeline.reconcile import reconcile_hour

    set_policy(demo, plan="t", meters={"requests": {"hour": 10}})
    _, key = apikey_create(workspace=demo, name="demo key", scopes=["read", "write"], actor=None)
    assert analyze(APIClient(HTTP_HOST="localhost"), key).status_code == HTTPStatus.OK
    assert [keyless().status_code for _ in range(2)] == [200, 200]
    drain_workspace(workspace_id=demo.pk, schema_name=demo.schema_name)
    hour = datetime.fromtimestamp(windows.bounds("hour", clock.at)[0], tz=UTC)
    # when
    result = reconcile_hour(workspace=demo, hour=hour, now=hour)
    # then the workspace's counter (its keyed call) matches what is stored of it
    assert (result.admitted, result.stored) == (1, 1)
