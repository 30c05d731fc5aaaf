"""Resetting usage for a window (platform API and admin): the next request is admitted again,
the reason is in the platform audit trail, and the reconciliation still adds up."""

from datetime import UTC, datetime
from http import HTTPStatus

from django.test import Client

from auditing.models import AuditEvent
from core.redis import get_redis
from metering import redis_keys, windows
from metering.pipeline.reconcile import reconcile_hour
from tests.apikeys.conftest import problem_of
from tests.factories import UserFactory
from tests.metering.conftest import set_policy
from tests.metering.test_api import analyze


def test_reset_admits_the_next_request_again(platform, make_token, workspace, api_key, api_client, clock):
    # given a workspace whose hourly quota is used up
    set_policy(workspace, plan="t", meters={"requests": {"hour": 2, "day": 100}})
    assert [analyze(api_client, api_key[1]).status_code for _ in range(3)] == [200, 200, 429]
    _, text = make_token(scopes=["usage:reset"])
    # when an operator resets its hour
    response = platform("post", "workspaces/acme/usage/reset", text, {"window": "hour", "reason": "ticket 4411"})
    # then the next request is admitted, the day window untouched
    assert response.status_code == HTTPStatus.OK, response.content
    assert response.json() == {"workspace": "acme", "window": "hour", "reset": {"requests:hour": 2}}
    admitted = analyze(api_client, api_key[1])
    assert admitted.status_code == HTTPStatus.OK
    assert 'hour";r=1' in admitted["RateLimit"] and 'day";r=97' in admitted["RateLimit"]
    event = AuditEvent.objects.get(action="usage_reset")
    assert event.details["reason"] == "ticket 4411" and event.details["counters"] == ["requests:hour"]
    assert event.actor_type == "operator" and event.severity == "warning"


def test_reset_needs_a_reason_and_a_window_the_plan_sets(platform, token, workspace, api_key, api_client, clock):
    set_policy(workspace, plan="t", meters={"requests": {"hour": 1}})
    analyze(api_client, api_key[1])
    for data, field in (({"window": "hour"}, "reason"), ({"window": "hour", "reason": "  "}, "reason"),
                        ({"window": "week", "reason": "r"}, "window"), ({"window": "day", "reason": "r"}, "window"),
                        ({"window": "hour", "meter": "tokens", "reason": "r"}, "meter")):
        response = platform("post", "workspaces/acme/usage/reset", token[1], data)
        assert response.status_code == HTTPStatus.BAD_REQUEST, data
        assert problem_of(response)["field"] == field
    # nothing was reset, nothing recorded as a reset
    assert analyze(api_client, api_key[1]).status_code == HTTPStatus.TOO_MANY_REQUESTS
    assert not AuditEvent.objects.filter(action="usage_reset").exists()


def test_key_burst_reset(platform, token, workspace, other_workspace, api_key, api_client, clock):
    set_policy(workspace, plan="t", burst={"limit": 1, "window": 60}, meters={})
    row, text = api_key
    assert [analyze(api_client, text).status_code for _ in range(2)] == [200, 429]
    response = platform("post", f"workspaces/acme/keys/{row.key_id}/usage/reset", token[1], {"reason": "load test"})
    assert response.status_code == HTTPStatus.OK and response.json()["window"] == "burst"
    assert 0 < response.json()["reset"][f"burst:{row.key_id}"] <= 60_000
    assert analyze(api_client, text).status_code == HTTPStatus.OK
    # the key is acme's: under another workspace it is not found
    other = platform("post", f"workspaces/globex/keys/{row.key_id}/usage/reset", token[1], {"reason": "x"})
    assert other.status_code == HTTPStatus.NOT_FOUND


def test_reset_without_the_scope_is_refused(platform, make_token, workspace, api_key, api_client, clock):
    set_policy(workspace, plan="t", meters={"requests": {"hour": 1}})
    analyze(api_client, api_key[1])
    _, text = make_token(scopes=["workspaces:read", "workspaces:write", "monitoring:read"])
    response = platform("post", "workspaces/acme/usage/reset", text, {"window": "hour", "reason": "r"})
    assert response.status_code == HTTPStatus.FORBIDDEN
    assert analyze(api_client, api_key[1]).status_code == HTTPStatus.TOO_MANY_REQUESTS


def test_the_reconciliation_counts_what_a_reset_took_off(workspace, api_key, api_client, clock):
    from metering.services import usage_reset

    # given 3 requests admitted this hour, then a reset, then 1 more
    set_policy(workspace, plan="t", meters={"requests": {"hour": 100}})
    for _ in range(3):
        analyze(api_client, api_key[1])
    usage_reset(workspace=workspace, window="hour", reason="test", actor=("operator", "test"))
    analyze(api_client, api_key[1])
    hour = datetime.fromtimestamp(windows.bounds("hour", clock.at)[0], tz=UTC)
    counter = redis_keys.quota(workspace.pk, "requests", "hour", int(hour.timestamp()))
    assert int(get_redis().get(counter)) == 1
    # when the hour is reconciled (stored: what the drain would store, 4)
    result = reconcile_hour(workspace=workspace, hour=hour, now=hour)
    # then admitted is 4: the counter plus what the reset moved aside
    assert result.admitted == 4


def test_admin_action_asks_for_a_reason(workspace, api_key, api_client, clock):
    set_policy(workspace, plan="t", meters={"requests": {"hour": 1}})
    analyze(api_client, api_key[1])
    operator = UserFactory(email="ops@tollgate.test", is_staff=True, is_superuser=True)
    client = Client(HTTP_HOST="localhost")
    client.force_login(operator)
    changelist = client.post("/admin/tenants/workspace/", {"action": "reset_usage", "_selected_action": [workspace.pk]})
    assert changelist.status_code == HTTPStatus.FOUND
    url = changelist["Location"]
    assert url.endswith(f"/admin/tenants/workspace/{workspace.pk}/reset-usage/")
    form = client.get(url)
    assert form.status_code == HTTPStatus.OK and 'name="reason"' in form.content.decode()
    # no reason: the form again, with the error next to the field, nothing reset
    refused = client.post(url, {"window": "hour", "reason": ""})
    assert refused.status_code == HTTPStatus.BAD_REQUEST and "This field is required" in refused.content.decode()
    assert analyze(api_client, api_key[1]).status_code == HTTPStatus.TOO_MANY_REQUESTS
    done = client.post(url, {"window": "hour", "reason": "customer's retry storm"})
    assert done.status_code == HTTPStatus.FOUND
    assert analyze(api_client, api_key[1]).status_code == HTTPStatus.OK
    event = AuditEvent.objects.get(action="usage_reset")
    assert event.actor_label == "ops@tollgate.test" and event.details["reason"] == "customer's retry storm"
