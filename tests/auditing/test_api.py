"""GET /api/v1/audit-logs: filters, keyset pages, ?format=csv|jsonl, scopes, isolation."""

import csv
import io
import json

import pytest

from apikeys.services import apikey_create
from auditing.services import record
from tests.auditing.conftest import events, headers
from tests.conftest import client_for

URL = "/api/v1/audit-logs"


def _auth(text: str) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {text}", **headers()}


@pytest.fixture
def other_admin_key(other_workspace):
    return apikey_create(workspace=other_workspace, name="globex admin", scopes=["admin"])


def test_api_lists_events_newest_first(workspace, admin_key, api_client, owner):
    # given a couple of events
    record(action="login", actor=owner, workspace=workspace, details={"n": 1})
    record(action="logout", actor=owner, workspace=workspace)
    # when an admin key lists the audit log
    response = api_client.get(URL, **_auth(admin_key[1]))
    # then the events come back newest first, with every field
    assert response.status_code == 200
    data = response.json()["data"]
    assert [e["action"] for e in data[:2]] == ["logout", "login"]
    assert set(data[1]) >= {"id", "occurred_at", "actor", "actor_type", "action", "severity", "resource_type",
                            "resource_id", "ip", "user_agent", "request_id", "outcome", "details", "hash"}
    assert data[1]["details"] == {"n": 1} and data[1]["actor"] == owner.email


def test_api_applies_the_same_filters_as_the_page(workspace, admin_key, api_client, owner):
    # given events of several kinds
    record(action="login", actor=owner, workspace=workspace)
    record(action="login_failed", severity="warning", workspace=workspace, details={"email": "x@evil.test"})
    record(action="role_changed", actor=owner, resource=("membership", 9), workspace=workspace)
    # when filtered through the API
    def actions(**params):
        return [e["action"] for e in api_client.get(URL, params, **_auth(admin_key[1])).json()["data"]]
    # then each filter narrows as on the page
    assert actions(action="login,login_failed") == ["login_failed", "login"]
    assert actions(severity="warning") == ["login_failed"]
    assert actions(actor=owner.email, action="login") == ["login"]
    assert actions(resource="membership:9") == ["role_changed"]
    assert actions(q="evil.test") == ["login_failed"]
    assert actions(since="2000-01-01", until="2000-01-02") == []


@pytest.mark.parametrize(("params", "field"), [
    ({"action": "nope"}, "action"),
    ({"since": "last week"}, "since"),
    ({"limit": "0"}, "limit"),
    ({"limit": "x"}, "limit"),
    ({"cursor": "forged"}, "cursor"),
    ({"format": "xml"}, "format"),
])
def test_api_refuses_bad_parameters_with_a_problem(workspace, admin_key, api_client, params, field):
    # given an admin key
    # when a parameter is bad
    response = api_client.get(URL, params, **_auth(admin_key[1]))
    # then it is an RFC 9457 problem naming the parameter
    assert response.status_code == 400
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["code"] == "invalid_input" and body["field"] == field and body["request_id"]


def test_api_pages_with_next_cursor_and_link_header(workspace, admin_key, api_client):
    # given 7 login events
    ids = [record(action="login", workspace=workspace).pk for _ in range(7)]
    # when read three at a time
    seen, params = [], {"action": "login", "limit": 3}
    while True:
        response = api_client.get(URL, params, **_auth(admin_key[1]))
        body = response.json()
        seen += [e["id"] for e in body["data"]]
        if not body["next_cursor"]:
            assert "Link" not in response
            break
        assert response["Link"].endswith('rel="next"') and "cursor=" in body["next"]
        params = {**params, "cursor": body["next_cursor"]}
    # then every event came exactly once, newest first
    assert seen == sorted(ids, reverse=True)


def test_api_format_csv_streams_an_export(workspace, admin_key, api_client, owner):
    # given events
    record(action="login", actor=owner, workspace=workspace)
    # when ?format=csv is asked for (the parameter DRF reserves)
    response = api_client.get(URL, {"format": "csv", "action": "login"}, **_auth(admin_key[1]))
    # then a CSV streams back, and the export is on the record with the key as actor
    assert response.status_code == 200 and response.streaming
    assert response["Content-Type"].startswith("text/csv")
    rows = list(csv.DictReader(io.StringIO(b"".join(response.streaming_content).decode())))
    assert [r["action"] for r in rows] == ["login"]
    exported = events(workspace, action="data_exported")[-1]
    assert (exported.actor_type, exported.actor_label) == ("api_key", admin_key[0].prefix)
    assert exported.details == {"format": "csv", "filters": {"action": "login"}}


def test_api_format_jsonl_and_accept_header(workspace, admin_key, api_client):
    # given events
    record(action="logout", workspace=workspace)
    # when JSON Lines is asked for by ?format= and by Accept
    by_param = api_client.get(URL, {"format": "jsonl", "action": "logout"}, **_auth(admin_key[1]))
    by_accept = api_client.get(URL, {"action": "logout"}, HTTP_ACCEPT="application/jsonl", **_auth(admin_key[1]))
    # then both stream one JSON object per line
    for response in (by_param, by_accept):
        assert response["Content-Type"].startswith("application/jsonl")
        lines = b"".join(response.streaming_content).decode().splitlines()
        assert [json.loads(line)["action"] for line in lines] == ["logout"]


def test_api_refuses_keys_without_the_admin_scope(workspace, api_key, api_client):
    # given a read/write key
    # when it asks for the audit log
    response = api_client.get(URL, **_auth(api_key[1]))
    # then it is refused: the audit trail names people and addresses
    assert response.status_code == 403 and response.json()["code"] == "insufficient_scope"


def test_api_refuses_anonymous_callers(workspace, api_client):
    # given no credentials
    # when the audit log is asked for, even as an export
    response = api_client.get(URL, {"format": "csv"})
    # then it is a 401, and nothing is exported
    assert response.status_code == 401
    assert events(workspace, action="data_exported") == []


def test_api_session_of_an_admin_works_and_of_a_member_is_refused(workspace, admin_user, member):
    # given an admin's and a member's dashboard sessions
    # when each calls the API on the workspace host
    ok = client_for(workspace, admin_user).get(URL)
    refused = client_for(workspace, member).get(URL)
    # then the admin gets the log and the member is refused
    assert ok.status_code == 200 and "data" in ok.json()
    assert refused.status_code == 403


def test_api_never_returns_another_workspaces_events(workspace, other_workspace, admin_key, other_admin_key,
                                                      api_client):
    # given events in two workspaces
    record(action="login", workspace=workspace, details={"ws": "acme"})
    record(action="login", workspace=other_workspace, details={"ws": "globex"})
    # when each workspace's key reads and exports the log
    mine = api_client.get(URL, {"action": "login"}, **_auth(admin_key[1])).json()["data"]
    theirs = api_client.get(URL, {"action": "login"}, **_auth(other_admin_key[1])).json()["data"]
    export = api_client.get(URL, {"format": "jsonl"}, **_auth(admin_key[1]))
    # then each sees its own only, in pages and in exports
    assert [e["details"] for e in mine] == [{"ws": "acme"}]
    assert [e["details"] for e in theirs] == [{"ws": "globex"}]
    assert "globex" not in b"".join(export.streaming_content).decode()


def test_api_key_cannot_read_another_workspace_through_its_host(workspace, other_workspace, admin_key):
    # given acme's admin key
    from rest_framework.test import APIClient

    # when it is sent to globex's host, or names globex in X-Tenant-ID
    on_host = APIClient(HTTP_HOST=f"{other_workspace.slug}.localhost").get(URL, **_auth(admin_key[1]))
    by_header = APIClient(HTTP_HOST="localhost").get(URL, HTTP_X_TENANT_ID="globex", **_auth(admin_key[1]))
    # then both are refused
    assert on_host.status_code == 403 and by_header.status_code == 403
