"""GET /api/v1/usage, /usage/summary, /usage/top and /metrics: what a metered request leaves
after its response (recorder -> Redis -> the drain's fold) and the drain's rollups, read back
through the API, for one workspace only."""

from http import HTTPStatus

import pytest
from django.db import connection
from django_tenants.utils import schema_context

from accounts.permissions import Role
from metering.analytics import recorder
from metering.models import RequestHourly
from metering.pipeline.drain import drain_workspace
from metering.pipeline.request_stats import fold_all
from tests.conftest import add_member, client_for
from tests.metering.conftest import set_policy


def analyze(client, key, text="hello there world"):
    return client.post("/api/v1/analyze", {"text": text}, format="json", HTTP_AUTHORIZATION=f"Bearer {key}")


def get(client, key, path, **params):
    return client.get(path, params, HTTP_AUTHORIZATION=f"Bearer {key}")


def settle(*workspaces):
    """What a worker and the drain do after the requests: flush, drain, fold."""
    recorder.flush()
    for w in workspaces:
        drain_workspace(workspace_id=w.pk, schema_name=w.schema_name)
    fold_all()


@pytest.fixture
def traffic(workspace, api_key, api_client, clock):
    """3 admitted requests and 2 refused (hourly quota of 3), drained and folded."""
    set_policy(workspace, plan="t", meters={"requests": {"hour": 3}, "tokens": {"month": 100}})
    statuses = [analyze(api_client, api_key[1]).status_code for _ in range(5)]
    assert statuses == [200, 200, 200, 429, 429]
    settle(workspace)
    return api_key


def test_usage_counts_admitted_and_refused_requests_and_units(traffic, api_client):
    # when
    response = get(api_client, traffic[1], "/api/v1/usage", hours="24")
    # then
    assert response.status_code == HTTPStatus.OK
    body = response.json()
    assert body["granularity"] == "hour" and body["group_by"] is None
    assert body["to"] == "2026-04-01T00:00:00Z" and body["from"] == "2026-03-30T23:00:00Z"  # whole hours around the last 24
    assert body["points"] == [{"time": "2026-03-31T23:00:00Z", "group": "", "requests": 5, "refused": 2, "errors": 0,
                               "units": {"requests": 3, "tokens": 9}}]


def test_usage_grouped_by_status_stacks_admitted_and_refused(traffic, api_client):
    body = get(api_client, traffic[1], "/api/v1/usage", hours="1", group_by="status").json()
    assert {p["group"]: p["requests"] for p in body["points"]} == {"2xx": 3, "refused": 2}


def test_usage_grouped_by_key_endpoint_and_meter(traffic, api_client):
    key_id = traffic[0].key_id
    by_key = get(api_client, traffic[1], "/api/v1/usage", hours="1", group_by="key").json()["points"]
    assert [(p["group"], p["requests"], p["units"]) for p in by_key] == [(key_id, 5, {"requests": 3, "tokens": 9})]
    by_endpoint = get(api_client, traffic[1], "/api/v1/usage", hours="1", group_by="endpoint").json()["points"]
    assert [p["group"] for p in by_endpoint] == ["/api/v1/analyze"]
    by_meter = get(api_client, traffic[1], "/api/v1/usage", hours="1", group_by="meter",
                   granularity="day").json()["points"]
    assert [(p["time"], p["group"], p["requests"], p["units"]) for p in by_meter] == [
        ("2026-03-31T00:00:00Z", "requests", 3, {"requests": 3}), ("2026-03-31T00:00:00Z", "tokens", 3, {"tokens": 9})]


def test_metrics_reports_totals_success_rate_latency_and_statuses(traffic, api_client):
    body = get(api_client, traffic[1], "/api/v1/metrics", hours="1").json()
    assert body["total_requests"] == 5 and body["success_rate"] == 0.6
    assert body["by_status"] == {"2xx": 3, "refused": 2} and body["refused"] == 2 and body["errors"] == 0
    assert body["requests_per_second"] == round(5 / 7200, 4)  # two whole hours: 22:00 to 00:00
    latency = body["latency_ms"]
    assert 0 < latency["p50"] <= latency["p95"] <= latency["p99"] and latency["avg"] > 0
    assert [(p["time"], p["requests"]) for p in body["latency_series"]] == [("2026-03-31T23:00:00Z", 3)]


def test_usage_top_ranks_keys_with_their_names(traffic, workspace, owner, api_client):
    from apikeys.services import apikey_create

    _, quiet = apikey_create(workspace=workspace, name="quiet", actor=owner)
    assert analyze(api_client, quiet).status_code == HTTPStatus.TOO_MANY_REQUESTS  # the workspace's hour is used
    settle(workspace)
    items = get(api_client, traffic[1], "/api/v1/usage/top", hours="1", by="key").json()["items"]
    assert [(i["name"], i["requests"], i["refused"]) for i in items] == [("test key", 5, 2), ("quiet", 1, 1)]
    endpoints = get(api_client, traffic[1], "/api/v1/usage/top", hours="1", by="endpoint", limit="1").json()["items"]
    assert [(i["endpoint"], i["requests"]) for i in endpoints] == [("/api/v1/analyze", 6)]


def test_usage_summary_gives_the_period_per_meter(traffic, api_client):
    body = get(api_client, traffic[1], "/api/v1/usage/summary").json()
    assert body["period"] == {"start": "2026-03-01T00:00:00Z", "end": "2026-04-01T00:00:00Z"}
    meters = {m["meter"]: m for m in body["meters"]}
    assert meters["tokens"] == {"meter": "tokens", "used": 9, "included": 100, "remaining": 91, "overage": 0}
    assert meters["requests"] == {"meter": "requests", "used": 3, "included": None, "remaining": None, "overage": 0}
    assert body["projected_cost"] is None


def test_usage_summary_asks_the_registered_projected_cost(traffic, api_client):
    from metering.analytics import selectors

    seen = []

    def provider(workspace, start, end, meters):
        seen.append((workspace.slug, [m.meter for m in meters]))
        return {"amount": 1234, "currency": "usd"}

    selectors.projected_cost_provider_set(provider)
    try:
        body = get(api_client, traffic[1], "/api/v1/usage/summary").json()
    finally:
        selectors.projected_cost_provider_set(None)
    assert body["projected_cost"] == {"amount": 1234, "currency": "usd"}
    assert seen == [("acme", ["requests", "tokens"])]


@pytest.mark.parametrize(("path", "params", "field"), [
    ("/api/v1/usage", {"from": "2026-03-31T10:00:00Z", "to": "2026-03-31T09:00:00Z"}, "to"),
    ("/api/v1/usage", {"from": "2026-03-31T10:00:00Z", "to": "2026-03-31T10:00:00Z"}, "to"),
    ("/api/v1/usage", {"from": "2024-01-01", "to": "2026-01-01"}, "to"),
    ("/api/v1/usage", {"from": "yesterday"}, "from"),
    ("/api/v1/usage", {"to": "2026-03-31"}, "from"),
    ("/api/v1/usage", {"from": "2026-03-30", "to": "2026-02-30"}, "to"),
    ("/api/v1/usage", {"hours": "0"}, "hours"),
    ("/api/v1/usage", {"hours": "-3"}, "hours"),
    ("/api/v1/usage", {"hours": "99999"}, "hours"),
    ("/api/v1/usage", {"hours": "2", "from": "2026-03-30"}, "hours"),
    ("/api/v1/usage", {"group_by": "colour"}, "group_by"),
    ("/api/v1/usage", {"granularity": "minute"}, "granularity"),
    ("/api/v1/metrics", {"hours": "x"}, "hours"),
    ("/api/v1/usage/top", {"by": "meter"}, "by"),
    ("/api/v1/usage/top", {"limit": "1000"}, "limit"),
])
def test_bad_parameters_are_400_problems_naming_the_parameter(workspace, api_key, api_client, clock, path, params,
                                                              field):
    response = get(api_client, api_key[1], path, **params)
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response["Content-Type"] == "application/problem+json"
    problem = response.json()
    assert problem["code"] == "invalid_input" and problem["field"] == field
    assert f"`{field}`" in problem["detail"] or "range" in problem["detail"]


def test_analytics_need_credentials(api_client):
    # every key holds `read` (write and admin include it): without credentials, nothing
    for path in ("/api/v1/usage", "/api/v1/usage/summary", "/api/v1/usage/top", "/api/v1/metrics"):
        response = api_client.get(path)
        assert response.status_code == HTTPStatus.UNAUTHORIZED, path
        assert response["Content-Type"] == "application/problem+json"


def test_a_member_reads_usage_with_a_dashboard_session(traffic, workspace):
    member = add_member(workspace, email="reader@acme.test")
    response = client_for(workspace, member).get("/api/v1/metrics", {"hours": "1"})
    assert response.status_code == HTTPStatus.OK
    assert response.json()["total_requests"] == 5


def test_no_usage_of_another_workspace_in_any_answer(workspace, other_workspace, api_key, owner, api_client, clock):
    from apikeys.services import apikey_create

    # given globex's traffic only, drained and folded alongside acme's empty stream
    globex_owner = add_member(other_workspace, Role.OWNER, email="owner@globex.test")
    _, globex_key = apikey_create(workspace=other_workspace, name="globex key", actor=globex_owner)
    set_policy(other_workspace, plan="t", meters={"requests": {"hour": 2}})
    assert [analyze(api_client, globex_key).status_code for _ in range(3)] == [200, 200, 429]
    settle(workspace, other_workspace)
    # when acme asks
    usage = get(api_client, api_key[1], "/api/v1/usage", hours="24").json()
    metrics = get(api_client, api_key[1], "/api/v1/metrics", hours="24").json()
    top = get(api_client, api_key[1], "/api/v1/usage/top", hours="24").json()
    summary = get(api_client, api_key[1], "/api/v1/usage/summary").json()
    # then none of globex's usage is there
    assert usage["points"] == [] and metrics["total_requests"] == 0 and top["items"] == []
    assert all(m["used"] == 0 for m in summary["meters"])
    # while globex sees its own
    assert get(api_client, globex_key, "/api/v1/metrics", hours="24").json()["total_requests"] == 3
    with schema_context(workspace.schema_name):
        assert not RequestHourly.objects.exists()
    connection.set_schema_to_public()


def test_openapi_describes_the_analytics_endpoints(api_client):
    schema = api_client.get("/api/schema/", HTTP_ACCEPT="application/json").json()
    for path in ("/api/v1/usage", "/api/v1/usage/summary", "/api/v1/usage/top", "/api/v1/metrics"):
        assert "get" in schema["paths"][path], path
    usage_params = {p["name"] for p in schema["paths"]["/api/v1/usage"]["get"]["parameters"]}
    assert {"from", "to", "hours", "granularity", "group_by"} <= usage_params
    assert {"from", "to", "points"} <= set(schema["components"]["schemas"]["UsageOutput"]["properties"])
