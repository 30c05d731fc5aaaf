"""POST /api/v1/analyze and GET /api/v1/limits through the whole stack."""

import re
import time
from http import HTTPStatus

import pytest
from django.core import mail
from django.db import connection
from django.test.utils import CaptureQueriesContext

from auditing.models import AuditEvent
from core import invalidation
from tests.metering.conftest import set_policy


def analyze(client, key, body=None, **kw):
    return client.post("/api/v1/analyze", body if body is not None else {"text": "I love this"}, format="json",
                       HTTP_AUTHORIZATION=f"Bearer {key}", **kw)


def parse_sf_list(value: str) -> dict:
    """A structured-field list `"a";q=1;w=2, "b";q=3` as {name: {param: int}}."""
    out = {}
    for item in value.split(", "):
        name, *params = item.split(";")
        out[name.strip('"')] = {k: int(v) for k, v in (p.split("=") for p in params)}
    return out


def test_analyze_returns_the_analysis_and_all_rate_limit_headers(workspace, api_key, api_client, clock):
    # given
    set_policy(workspace, plan="t", burst={"limit": 10, "window": 1},
               meters={"requests": {"hour": 100, "day": 1000, "month": 5000}})
    # when
    response = analyze(api_client, api_key[1], {"text": "I love this great API. Thanks!"})
    # then
    assert response.status_code == HTTPStatus.OK
    body = response.json()
    assert body["words"] == 6 and body["sentiment"]["label"] == "positive" and body["dominant_emotion"] == "joy"
    policy = parse_sf_list(response["RateLimit-Policy"])
    state = parse_sf_list(response["RateLimit"])
    assert policy == {"burst": {"q": 10, "w": 1}, "hour": {"q": 100, "w": 3600}, "day": {"q": 1000, "w": 86400},
                      "month": {"q": 5000}}
    assert list(state) == list(policy)  # same names, same order
    assert state["hour"] == {"r": 99, "t": 2} and state["day"]["r"] == 999 and state["month"] == {"r": 4999, "t": 2}
    # the tightest window (least remaining share) is the burst one: 9 of 10 left
    assert response["X-RateLimit-Limit"] == "10"
    assert response["X-RateLimit-Remaining"] == "9"
    assert re.fullmatch(r"\d{10}", response["X-RateLimit-Reset"])


def test_analyze_is_the_same_with_x_api_key_header(workspace, api_key, api_client):
    response = api_client.post("/api/v1/analyze", {"text": "hello"}, format="json", HTTP_X_API_KEY=api_key[1])
    assert response.status_code == HTTPStatus.OK
    assert "RateLimit" in response


def test_refusal_is_a_quota_exceeded_problem_with_retry_after(workspace, api_key, api_client, clock):
    # given one request an hour, used
    set_policy(workspace, plan="free", upgrade="Upgrade to the Pro plan to raise your limits.",
               meters={"requests": {"hour": 1, "day": 10}})
    assert analyze(api_client, api_key[1]).status_code == HTTPStatus.OK
    # when
    response = analyze(api_client, api_key[1])
    # then
    assert response.status_code == HTTPStatus.TOO_MANY_REQUESTS
    assert response["Content-Type"] == "application/problem+json"
    assert response["Retry-After"] == "2"
    problem = response.json()
    assert problem["type"] == "https://iana.org/assignments/http-problem-types#quota-exceeded"
    assert problem["code"] == "quota_exceeded" and problem["status"] == 429
    assert problem["violated-policies"] == ["hour"]
    assert problem["window"] == "hour" and problem["limit"] == 1 and problem["meter"] == "requests"
    assert "2026-04-01T00:00:00Z" in problem["detail"] and "Pro plan" in problem["detail"]
    assert problem["request_id"] == response["X-Request-ID"]
    assert parse_sf_list(response["RateLimit"])["hour"]["r"] == 0
    assert response["X-RateLimit-Remaining"] == "0"
    assert response["X-RateLimit-Reset"] == "1775001600"


def test_burst_refusal_names_the_burst_and_the_key_override(workspace, owner, api_client, clock):
    from apikeys.services import apikey_create

    set_policy(workspace, plan="t", burst={"limit": 1, "window": 1}, meters={})
    _, key = apikey_create(workspace=workspace, name="k", actor=owner)
    analyze(api_client, key)
    problem = analyze(api_client, key).json()
    assert problem["code"] == "rate_limited" and problem["violated-policies"] == ["burst"]
    assert "burst limit" in problem["detail"]


@pytest.mark.parametrize(
    ("body", "content_type", "status", "code"),
    [
        ({"text": ""}, "json", 400, "empty_text"),
        ({"text": "   "}, "json", 400, "empty_text"),
        ({"text": "x" * 10_001}, "json", 413, "text_too_long"),
        ({"text": 5}, "json", 400, "invalid_input"),
        ({}, "json", 400, "invalid_input"),
        ([1, 2], "json", 400, "invalid_input"),
        ('{"text": "unterminated', "raw", 400, "malformed_json"),
        ("text=hi", "form", 415, "unsupported_media_type"),
    ],
)
def test_bad_input_is_a_problem_and_nothing_is_counted(workspace, api_key, api_client, body, content_type, status,
                                                       code):
    set_policy(workspace, plan="t", meters={"requests": {"hour": 5}})
    headers = {"HTTP_AUTHORIZATION": f"Bearer {api_key[1]}"}
    if content_type == "json":
        response = api_client.post("/api/v1/analyze", body, format="json", **headers)
    elif content_type == "raw":
        response = api_client.generic("POST", "/api/v1/analyze", body, content_type="application/json", **headers)
    else:
        response = api_client.generic("POST", "/api/v1/analyze", body,
                                      content_type="application/x-www-form-urlencoded", **headers)
    assert response.status_code == status
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == code
    usage = api_client.get("/api/v1/limits", **headers).json()["limits"]
    assert next(i for i in usage if i["name"] == "hour")["used"] == 0


def test_limits_reports_each_meter_and_window(workspace, api_key, api_client, clock):
    set_policy(workspace, plan="t", burst={"limit": 5, "window": 1},
               meters={"requests": {"hour": 10}, "analysis_runs": {"credits": 3}})
    analyze(api_client, api_key[1])
    response = api_client.get("/api/v1/limits", HTTP_AUTHORIZATION=f"Bearer {api_key[1]}")
    assert response.status_code == HTTPStatus.OK
    items = {i["name"]: i for i in response.json()["limits"]}
    assert items["hour"] == {"meter": "requests", "window": "hour", "name": "hour", "limit": 10, "hard": True,
                             "used": 1, "remaining": 9, "reset": 1775001600}
    assert items["burst"]["used"] == 1 and items["burst"]["remaining"] == 4
    assert items["analysis_runs-credits"]["remaining"] == 3
    assert "RateLimit" not in response  # reading limits is not metered


def test_limits_needs_a_key(api_client):
    response = api_client.get("/api/v1/limits")
    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert response["WWW-Authenticate"].startswith("Bearer")


class RedisCalls:
    """Counts commands this thread sends to Redis, on both ways out: redis-py's connection (the
    client, pipelines) and the metering engine's own socket (core.redis._Wire, which writes to
    the socket itself once redis-py has connected it). A packed write is decoded with a RESP
    reader, so a pipeline counts as each of its commands."""

    def __init__(self, monkeypatch):
        import threading

        import hiredis
        from redis.connection import AbstractConnection

        from core.redis import _Wire

        self.commands = []
        self.writes = 0
        me = threading.get_ident()
        send_packed = AbstractConnection.send_packed_command
        wire_call = _Wire.call

        def counting_send(conn, *args, **kwargs):
            if threading.get_ident() == me:
                self.commands.append(str(args[0]))
                self.writes += 1
            return send_packed(conn, conn.pack_command(*args), check_health=kwargs.get("check_health", True))

        def count(command):
            if threading.get_ident() == me:
                reader = hiredis.Reader()
                for chunk in [command] if isinstance(command, bytes | str) else command:
                    reader.feed(chunk)
                while (sent := reader.gets()) is not False:
                    self.commands.append(sent[0].decode())
                self.writes += 1

        def counting_packed(conn, command, *args, **kwargs):
            count(command)
            return send_packed(conn, command, *args, **kwargs)

        def counting_wire(wire, command):
            try:
                return wire_call(wire, command)
            finally:
                if wire.reader is not None:  # else (TLS) it went through send_packed_command, counted there
                    count(command)

        monkeypatch.setattr(AbstractConnection, "send_command", counting_send)
        monkeypatch.setattr(AbstractConnection, "send_packed_command", counting_packed)
        monkeypatch.setattr(_Wire, "call", counting_wire)


def test_steady_state_metered_request_costs_zero_sql_and_one_redis_round_trip(
        workspace, api_key, api_client, monkeypatch):
    # given a warm process: invalidation listener connected (it clears the caches when it
    # connects), key, host and policy cached, script loaded
    invalidation.ensure_listener()
    deadline = time.monotonic() + 5
    while not invalidation.listener_connected() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert invalidation.listener_connected()
    set_policy(workspace, plan="t", burst={"limit": 100, "window": 1}, meters={"requests": {"hour": 100}})
    assert analyze(api_client, api_key[1]).status_code == HTTPStatus.OK
    redis_calls = RedisCalls(monkeypatch)
    # when
    with CaptureQueriesContext(connection) as queries:
        response = analyze(api_client, api_key[1])
    # then
    assert response.status_code == HTTPStatus.OK
    assert [q["sql"] for q in queries.captured_queries] == []
    assert redis_calls.commands == ["EVALSHA"]
    assert redis_calls.writes == 1


def test_usage_alerts_email_owners_and_audit_once_per_window(workspace, owner, api_key, api_client, clock):
    set_policy(workspace, plan="t", meters={"requests": {"hour": 5}})
    for _ in range(7):
        analyze(api_client, api_key[1])
    subjects = [m.subject for m in mail.outbox]
    assert subjects == ["[Acme] 80% of your requests quota for this hour used",
                        "[Acme] 100% of your requests quota for this hour used"]
    assert mail.outbox[0].to == ["owner@acme.test"]
    connection.set_tenant(workspace)
    warnings = list(AuditEvent.objects.filter(action="quota_warning").order_by("id"))
    assert [w.details["percent"] for w in warnings] == [80, 100]
    # refusals: two 429s, one audit event for the key and window
    refusals = AuditEvent.objects.filter(action="rate_limit_exceeded")
    assert refusals.count() == 1
    assert refusals.get().details["key"] == api_key[0].key_id
    connection.set_schema_to_public()


def test_plan_change_reaches_the_next_request(workspace, api_key, api_client, committed):
    from billing.services import catalogue_ensure, subscription_set_plan

    catalogue_ensure()
    subscription_set_plan(workspace=workspace, plan_slug="free")
    assert parse_sf_list(analyze(api_client, api_key[1])["RateLimit-Policy"])["hour"]["q"] == 1000
    with committed():
        subscription_set_plan(workspace=workspace, plan_slug="pro")
    assert parse_sf_list(analyze(api_client, api_key[1])["RateLimit-Policy"])["hour"]["q"] == 10000


def test_suspension_applies_on_the_next_request(workspace, api_key, api_client, committed):
    from tenants.services import workspace_set_status

    assert analyze(api_client, api_key[1]).status_code == HTTPStatus.OK
    with committed():
        workspace_set_status(workspace=workspace, status="suspended")
    response = analyze(api_client, api_key[1])
    assert response.status_code == HTTPStatus.FORBIDDEN
    assert response.json()["code"] == "workspace_suspended"
