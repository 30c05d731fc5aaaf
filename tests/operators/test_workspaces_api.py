"""The platform API's workspaces: lifecycle, members and keys, pages, and the audit of every call."""

from http import HTTPStatus

import pytest
from django.db import connection

from auditing.models import AuditEvent
from billing.services import catalogue_ensure
from tenants.models import Workspace
from tests.apikeys.conftest import bearer, problem_of


@pytest.fixture
def plans():
    catalogue_ensure()


def _schema_exists(name: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", [name])
        return cursor.fetchone() is not None


def test_create_suspend_reactivate_delete(platform, token, plans, api_client, committed):
    text = token[1]
    # create, with plan and a new owner
    created = platform("post", "workspaces", text,
                       {"slug": "newco", "name": "NewCo", "owner_email": "Ana@NewCo.test", "plan": "startup"})
    assert created.status_code == HTTPStatus.CREATED, created.content
    body = created.json()
    assert (body["slug"], body["name"], body["status"], body["plan"]) == ("newco", "NewCo", "active", "startup")
    assert body["owners"] == ["ana@newco.test"] and body["owner"]["created"] is True
    assert "/password-reset/" in body["owner"]["set_password_url"]
    assert _schema_exists("ws_newco")
    # a key of the new workspace works
    from apikeys.services import apikey_create

    workspace = Workspace.objects.get(slug="newco")
    _, key = apikey_create(workspace=workspace, name="k", scopes=["read"], actor=None)
    assert api_client.get("/api/v1/info", **bearer(key)).status_code == HTTPStatus.OK
    # suspend: its key stops
    with committed():
        suspended = platform("post", "workspaces/newco/suspend", text)
    assert suspended.status_code == HTTPStatus.OK and suspended.json()["status"] == "suspended"
    assert api_client.get("/api/v1/info", **bearer(key)).json()["code"] == "workspace_suspended"
    # reactivate: it works again
    with committed():
        assert platform("post", "workspaces/newco/reactivate", text).json()["status"] == "active"
    assert api_client.get("/api/v1/info", **bearer(key)).status_code == HTTPStatus.OK
    # delete needs the slug again
    refused = platform("delete", "workspaces/newco?confirm=nope", text)
    assert refused.status_code == HTTPStatus.BAD_REQUEST and problem_of(refused)["field"] == "confirm"
    with committed():
        deleted = platform("delete", "workspaces/newco?confirm=newco", text)
    assert deleted.status_code == HTTPStatus.OK and deleted.json()["deleted"]["tenants.Workspace"] == 1
    assert not _schema_exists("ws_newco") and not Workspace.objects.filter(slug="newco").exists()
    assert api_client.get("/api/v1/info", **bearer(key)).status_code == HTTPStatus.UNAUTHORIZED
    assert platform("get", "workspaces/newco", text).status_code == HTTPStatus.NOT_FOUND
    # every step is in the platform audit trail, by this token
    actions = list(AuditEvent.objects.filter(actor_type="operator").order_by("id").values_list("action", flat=True))
    assert [a for a in actions if a != "operator_api_call"] == [
        "workspace_created", "workspace_suspended", "workspace_reactivated", "workspace_deleted"]
    assert actions.count("operator_api_call") == 6  # one per call, refusals too
    assert set(AuditEvent.objects.filter(actor_type="operator").values_list("actor_label", flat=True)) == {
        str(token[0])}


@pytest.mark.parametrize(("data", "field"), [
    ({"slug": "X!", "name": "n", "owner_email": "a@b.test"}, "slug"),
    ({"slug": "okay", "name": "n", "owner_email": "not-an-email"}, "owner_email"),
    ({"slug": "okay", "name": "n", "owner_email": "a@b.test", "plan": "platinum"}, "plan"),
    ({"slug": "acme", "name": "n", "owner_email": "a@b.test"}, "slug"),
    ({"name": "n", "owner_email": "a@b.test"}, "slug"),
])
def test_create_refuses_bad_input_and_makes_nothing(platform, token, plans, workspace, data, field):
    before = (Workspace.objects.count(), AuditEvent.objects.filter(action="workspace_created").count())
    response = platform("post", "workspaces", token[1], data)
    assert response.status_code in (HTTPStatus.BAD_REQUEST, HTTPStatus.CONFLICT)
    assert problem_of(response)["field"] == field
    assert (Workspace.objects.count(), AuditEvent.objects.filter(action="workspace_created").count()) == before


def test_create_with_an_existing_owner_and_the_default_plan(platform, token, plans, owner):
    body = platform("post", "workspaces", token[1], {"slug": "second", "name": "Second", "owner_email": owner.email}).json()
    assert body["plan"] == "free" and body["owner"] == {"email": owner.email, "created": False}


def test_list_pages_across_workspaces(platform, token, workspace, other_workspace):
    # given acme and globex
    first = platform("get", "workspaces?limit=1", token[1])
    assert first.status_code == HTTPStatus.OK
    page = first.json()
    assert [w["slug"] for w in page["data"]] == ["globex"]  # newest first
    assert first["Link"] == f'<{page["next"]}>; rel="next"'
    second = platform("get", f"workspaces?limit=1&cursor={page['next_cursor']}", token[1]).json()
    assert [w["slug"] for w in second["data"]] == ["acme"] and second["next_cursor"] is None
    assert [w["slug"] for w in platform("get", "workspaces?q=glob", token[1]).json()["data"]] == ["globex"]


@pytest.mark.parametrize(("query", "field"), [("limit=0", "limit"), ("limit=x", "limit"), ("cursor=zzz", "cursor"),
                                              ("status=gone", "status")])
def test_list_refuses_bad_parameters(platform, token, query, field):
    response = platform("get", f"workspaces?{query}", token[1])
    assert response.status_code == HTTPStatus.BAD_REQUEST and problem_of(response)["field"] == field


def test_members_and_keys_of_one_workspace_prefixes_only(platform, make_token, workspace, owner, member, api_key,
                                                         other_workspace):
    _, text = make_token(scopes=["workspaces:read"])
    members = platform("get", "workspaces/acme/members", text).json()["data"]
    assert {m["email"]: m["role"] for m in members} == {"owner@acme.test": "owner", "member@acme.test": "member"}
    keys = platform("get", "workspaces/acme/keys", text)
    row, secret = api_key
    assert [k["prefix"] for k in keys.json()["data"]] == [row.prefix]
    assert row.digest not in keys.content.decode() and secret.split("_")[-1] not in keys.content.decode()
    assert "digest" not in keys.json()["data"][0]
    # another workspace's lists are its own
    assert platform("get", "workspaces/globex/members", text).json()["data"] == []
    assert platform("get", "workspaces/globex/keys", text).json()["data"] == []
    assert platform("get", "workspaces/nowhere/keys", text).status_code == HTTPStatus.NOT_FOUND


def test_plan_change(platform, token, plans, workspace):
    assert platform("post", "workspaces/acme/plan", token[1], {"plan": "pro"}).json()["plan"] == "pro"
    response = platform("post", "workspaces/acme/plan", token[1], {"plan": "gold"})
    assert response.status_code == HTTPStatus.BAD_REQUEST and problem_of(response)["field"] == "plan"


def test_only_on_the_public_host(token, workspace):
    from rest_framework.test import APIClient

    client = APIClient(HTTP_HOST="acme.localhost")
    response = client.get("/api/platform/v1/workspaces", **bearer(token[1]))
    assert response.status_code == HTTPStatus.NOT_FOUND
