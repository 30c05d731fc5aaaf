"""The platform overview and per-workspace monitoring, read from what metered requests left."""

from http import HTTPStatus

from tests.apikeys.conftest import problem_of
from tests.metering.conftest import set_policy
from tests.metering.test_analytics_api import analyze, settle


def test_overview_and_workspace_monitoring(platform, make_token, workspace, other_workspace, api_key, api_client,
                                           clock):
    # given 3 admitted and 2 refused requests in acme, none in globex
    set_policy(workspace, plan="t", meters={"requests": {"hour": 3}})
    assert [analyze(api_client, api_key[1]).status_code for _ in range(5)] == [200, 200, 200, 429, 429]
    settle(workspace, other_workspace)
    # and globex pays for Pro ($99 a month)
    from billing.services import subscription_set_plan
    subscription_set_plan(workspace=other_workspace, plan_slug="pro")
    _, text = make_token(scopes=["monitoring:read"])
    # when
    overview = platform("get", "overview", text)
    acme = platform("get", "workspaces/acme/monitoring?hours=24", text)
    globex = platform("get", "workspaces/globex/monitoring", text)
    # then
    assert overview.status_code == HTTPStatus.OK, overview.content
    body = overview.json()
    assert body["workspaces"] == {"total": 2, "active": 2, "suspended": 0}
    # refusals are their own class, not errors (metering.analytics)
    assert body["requests_24h"] == 5 and body["refused_24h"] == 2 and body["errors_24h"] == 0
    assert body["error_rate_24h"] == 0.0 and body["active_subscriptions"] == 1
    assert [w["slug"] for w in body["top_workspaces"]] == ["acme"]
    assert body["mrr_cents"] == 9900  # billing's MRR, as admin shows it
    metrics = acme.json()
    assert metrics["total_requests"] == 5 and metrics["refused"] == 2 and metrics["by_status"] == {"2xx": 3, "refused": 2}
    assert metrics["latency_ms"]["p95"] is not None
    assert globex.json()["total_requests"] == 0


def test_monitoring_needs_its_scope_and_a_good_range(platform, make_token, workspace):
    _, reader = make_token(scopes=["workspaces:read"])
    assert platform("get", "overview", reader).status_code == HTTPStatus.FORBIDDEN
    assert platform("get", "workspaces/acme/monitoring", reader).status_code == HTTPStatus.FORBIDDEN
    _, text = make_token(scopes=["monitoring:read"])
    bad = platform("get", "workspaces/acme/monitoring?hours=0", text)
    assert bad.status_code == HTTPStatus.BAD_REQUEST and problem_of(bad)["field"] == "hours"
    assert platform("get", "workspaces/nope/monitoring", text).status_code == HTTPStatus.NOT_FOUND
