"""/api/v1/keys...: create once, list, show, revoke, rotate; scopes; other workspaces are 404."""

import time
from datetime import timedelta
from http import HTTPStatus

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from apikeys.models import ApiKey
from apikeys.services import apikey_create
from tests.apikeys.conftest import bearer, problem_of
from tests.conftest import client_for, host_of

KEYS = "/api/v1/keys"
INFO = "/api/v1/info"
ANALYZE = "/api/v1/analyze"


def _api_session(workspace, user) -> APIClient:
    client = APIClient(HTTP_HOST=host_of(workspace))
    client.force_login(user)
    return client


# One-time display ------------------------------------------------------------------------

def test_key_create_returns_the_key_once(api_client, admin_key, workspace):
    # given
    _, admin_text = admin_key
    # when
    created = api_client.post(KEYS, {"name": "ci", "scopes": ["read"]}, format="json", **bearer(admin_text))
    # then the create response carries the full key, uncacheable
    assert created.status_code == HTTPStatus.CREATED
    body = created.json()
    text = body["key"]
    assert text.startswith(f"tg_live_{body['id']}_")
    assert body["prefix"] == f"tg_live_{body['id']}"
    assert "no-store" in created["Cache-Control"]
    row = ApiKey.objects.get(key_id=body["id"])
    assert row.workspace == workspace
    assert text.rsplit("_", 1)[1] not in row.digest
    # and no later response shows it again
    listed = api_client.get(KEYS, **bearer(admin_text))
    shown = api_client.get(f"{KEYS}/{body['id']}", **bearer(admin_text))
    for response in (listed, shown):
        assert response.status_code == HTTPStatus.OK
        assert text not in response.content.decode()
        assert text.rsplit("_", 1)[1] not in response.content.decode()
    assert all("key" not in item for item in listed.json()["data"])
    assert "key" not in shown.json()
    # and the key works
    assert api_client.get(INFO, **bearer(text)).status_code == HTTPStatus.OK


def test_key_create_with_every_setting(api_client, admin_key):
    # given
    _, admin_text = admin_key
    expires = timezone.now() + timedelta(days=10)
    payload = {"name": "edge", "scopes": ["read", "write"], "environment": "test", "expires_at": expires.isoformat(),
               "burst_limit": 5, "burst_window": 60, "allowed_ips": ["203.0.113.0/24", "2001:db8::/32"]}
    # when
    response = api_client.post(KEYS, payload, format="json", **bearer(admin_text))
    # then
    assert response.status_code == HTTPStatus.CREATED
    body = response.json()
    assert body["key"].startswith("tg_test_")
    assert body["environment"] == "test"
    assert body["scopes"] == ["read", "write"]
    assert body["burst_limit"] == 5
    assert body["burst_window"] == 60
    assert body["allowed_ips"] == ["203.0.113.0/24", "2001:db8::/32"]
    assert body["status"] == "active"


@pytest.mark.parametrize(
    ("payload", "field"),
    [
        ({"name": ""}, "name"),
        ({"name": "x" * 101}, "name"),
        ({"name": "ok", "scopes": []}, "scopes"),
        ({"name": "ok", "scopes": ["root"]}, "scopes"),
        ({"name": "ok", "environment": "prod"}, "environment"),
        ({"name": "ok", "burst_limit": 0}, "burst_limit"),
        ({"name": "ok", "burst_window": 5}, "burst_window"),
        ({"name": "ok", "allowed_ips": ["300.1.1.1"]}, "allowed_ips"),
        ({"name": "ok", "expires_at": "2001-01-01T00:00:00Z"}, "expires_at"),
    ],
)
def test_key_create_bad_input_is_400_and_creates_nothing(api_client, admin_key, payload, field):
    # given
    _, admin_text = admin_key
    before = ApiKey.objects.count()
    # when
    response = api_client.post(KEYS, payload, format="json", **bearer(admin_text))
    # then
    assert response.status_code == HTTPStatus.BAD_REQUEST
    body = problem_of(response)
    assert body["code"] == "invalid_input"
    assert field in body.get("errors", {}) or body.get("field") == field, body
    assert ApiKey.objects.count() == before


def test_key_rotate_returns_only_the_new_key(api_client, admin_key, api_key):
    # given
    _, admin_text = admin_key
    old, old_text = api_key
    # when
    response = api_client.post(f"{KEYS}/{old.key_id}/rotate", {"grace_period": 3600}, format="json",
                               **bearer(admin_text))
    # then
    assert response.status_code == HTTPStatus.CREATED
    assert "no-store" in response["Cache-Control"]
    body = response.json()
    assert body["key"].startswith(f"tg_live_{body['id']}_")
    assert "key" not in body["previous"]
    assert old_text not in response.content.decode()
    assert body["previous"]["id"] == old.key_id


# Scopes -----------------------------------------------------------------------------------

def test_read_scope_reads_but_cannot_write_or_manage(api_client, make_key):
    # given
    _, text = make_key(scopes=["read"])
    # when
    info = api_client.get(INFO, **bearer(text))
    write = api_client.post(ANALYZE, {"text": "I love this"}, format="json", **bearer(text))
    manage = api_client.get(KEYS, **bearer(text))
    # then
    assert info.status_code == HTTPStatus.OK
    for response, needed in ((write, "write"), (manage, "admin")):
        assert response.status_code == HTTPStatus.FORBIDDEN
        body = problem_of(response)
        assert body["code"] == "insufficient_scope"
        assert body["required_scope"] == needed


def test_write_scope_writes_but_cannot_manage_keys(api_client, make_key):
    # given
    _, text = make_key(scopes=["write"])
    before = ApiKey.objects.count()
    # when
    info = api_client.get(INFO, **bearer(text))
    write = api_client.post(ANALYZE, {"text": "I love this"}, format="json", **bearer(text))
    create = api_client.post(KEYS, {"name": "sneaky"}, format="json", **bearer(text))
    # then write implies read, and a write key makes no keys
    assert info.status_code == HTTPStatus.OK
    assert write.status_code == HTTPStatus.OK, write.content
    assert create.status_code == HTTPStatus.FORBIDDEN
    assert problem_of(create)["code"] == "insufficient_scope"
    assert ApiKey.objects.count() == before


def test_admin_scope_does_everything(api_client, make_key):
    # given an admin-only key (admin implies write and read)
    _, text = make_key(scopes=["admin"])
    # when
    info = api_client.get(INFO, **bearer(text))
    write = api_client.post(ANALYZE, {"text": "I love this"}, format="json", **bearer(text))
    create = api_client.post(KEYS, {"name": "made by admin"}, format="json", **bearer(text))
    listed = api_client.get(KEYS, **bearer(text))
    # then
    assert info.status_code == HTTPStatus.OK
    assert write.status_code == HTTPStatus.OK
    assert create.status_code == HTTPStatus.CREATED
    assert listed.status_code == HTTPStatus.OK


def test_manager_session_manages_keys_member_session_cannot(workspace, manager, member, api_key):
    # given dashboard sessions on the workspace host
    row, _ = api_key
    as_manager = _api_session(workspace, manager)
    as_member = _api_session(workspace, member)
    # when
    listed = as_manager.get(KEYS)
    refused = as_member.get(KEYS)
    revoke = as_member.post(f"{KEYS}/{row.key_id}/revoke")
    # then
    assert listed.status_code == HTTPStatus.OK
    assert [k["id"] for k in listed.json()["data"]] == [row.key_id]
    assert refused.status_code == HTTPStatus.FORBIDDEN
    assert problem_of(refused)["code"] == "insufficient_scope"
    assert revoke.status_code == HTTPStatus.FORBIDDEN
    row.refresh_from_db()
    assert row.revoked_at is None


def test_manager_session_creates_a_key_shown_once(workspace, manager):
    # given
    client = _api_session(workspace, manager)
    # when
    response = client.post(KEYS, {"name": "from the dashboard session"}, format="json")
    # then
    assert response.status_code == HTTPStatus.CREATED
    assert ApiKey.objects.get(key_id=response.json()["id"]).created_by == manager


# Other workspaces ---------------------------------------------------------------------------

@pytest.fixture
def globex_key(other_workspace):
    return apikey_create(workspace=other_workspace, name="globex key", scopes=["read"])


def test_other_workspaces_key_is_404_through_the_api(api_client, admin_key, globex_key):
    # given acme's admin key and globex's key id
    _, admin_text = admin_key
    theirs, _ = globex_key
    # when
    shown = api_client.get(f"{KEYS}/{theirs.key_id}", **bearer(admin_text))
    revoked = api_client.post(f"{KEYS}/{theirs.key_id}/revoke", **bearer(admin_text))
    rotated = api_client.post(f"{KEYS}/{theirs.key_id}/rotate", {"grace_period": 0}, format="json",
                              **bearer(admin_text))
    missing = api_client.get(f"{KEYS}/doesnotexist", **bearer(admin_text))
    listed = api_client.get(KEYS, **bearer(admin_text))
    # then each is the same 404 as a key that does not exist, and nothing changed
    for response in (shown, revoked, rotated):
        assert response.status_code == HTTPStatus.NOT_FOUND
        assert problem_of(response)["code"] == "not_found"
        assert problem_of(response)["detail"] == problem_of(missing)["detail"]
    theirs.refresh_from_db()
    assert theirs.status == "active"
    assert theirs.rotated_to is None
    assert ApiKey.objects.filter(workspace=theirs.workspace).count() == 1
    assert theirs.key_id not in listed.content.decode()


def test_other_workspaces_key_is_404_through_a_session(workspace, manager, globex_key):
    # given acme's manager on acme's host
    theirs, _ = globex_key
    client = _api_session(workspace, manager)
    # when
    shown = client.get(f"{KEYS}/{theirs.key_id}")
    revoked = client.post(f"{KEYS}/{theirs.key_id}/revoke")
    # then
    assert shown.status_code == HTTPStatus.NOT_FOUND
    assert revoked.status_code == HTTPStatus.NOT_FOUND
    theirs.refresh_from_db()
    assert theirs.revoked_at is None


def test_session_of_a_non_member_on_another_host_is_404(other_workspace, manager):
    # given acme's manager calling globex's host with their session
    client = _api_session(other_workspace, manager)
    # when
    response = client.get(KEYS)
    # then
    assert response.status_code == HTTPStatus.NOT_FOUND


# Revoke and rotate through the API --------------------------------------------------------

def test_key_revoke_stops_the_key_at_once(api_client, admin_key, api_key, committed):
    # given a key in use
    _, admin_text = admin_key
    row, text = api_key
    assert api_client.get(INFO, **bearer(text)).status_code == HTTPStatus.OK
    # when
    with committed():
        response = api_client.post(f"{KEYS}/{row.key_id}/revoke", **bearer(admin_text))
    # then
    assert response.status_code == HTTPStatus.OK
    assert response.json()["status"] == "revoked"
    assert problem_of(api_client.get(INFO, **bearer(text)))["code"] == "api_key_revoked"


def test_key_rotate_grace_window_then_its_end(api_client, admin_key, make_key):
    # given a key with settings worth keeping
    _, admin_text = admin_key
    old, old_text = make_key(scopes=["read", "write"], burst_limit=7, allowed_ips=["127.0.0.1"],
                             expires_at=timezone.now() + timedelta(days=90))
    # when it is rotated with a one-second grace
    response = api_client.post(f"{KEYS}/{old.key_id}/rotate", {"grace_period": 1}, format="json",
                               **bearer(admin_text))
    new_text = response.json()["key"]
    # then during the grace both keys work, and the new one has the old one's settings
    assert api_client.get(INFO, **bearer(old_text)).status_code == HTTPStatus.OK
    assert api_client.get(INFO, **bearer(new_text)).status_code == HTTPStatus.OK
    new = ApiKey.objects.get(key_id=response.json()["id"])
    assert (new.scopes, new.burst_limit, new.allowed_ips, new.expires_at) == (
        ["read", "write"], 7, ["127.0.0.1/32"], old.expires_at)
    old.refresh_from_db()
    assert old.rotated_to == new
    # and when the grace ends the old key is expired, the new one still works
    time.sleep(max(0.0, (old.expires_at - timezone.now()).total_seconds()) + 0.05)
    assert problem_of(api_client.get(INFO, **bearer(old_text)))["code"] == "api_key_expired"
    assert api_client.get(INFO, **bearer(new_text)).status_code == HTTPStatus.OK


def test_key_rotate_grace_defaults_to_24_hours(api_client, admin_key, api_key):
    # given
    _, admin_text = admin_key
    old, _ = api_key
    # when
    before = timezone.now()
    response = api_client.post(f"{KEYS}/{old.key_id}/rotate", **bearer(admin_text))
    # then
    assert response.status_code == HTTPStatus.CREATED
    old.refresh_from_db()
    assert before + timedelta(hours=24) <= old.expires_at <= timezone.now() + timedelta(hours=24)


def test_key_rotate_with_zero_grace_stops_the_old_key_now(api_client, admin_key, api_key):
    # given
    _, admin_text = admin_key
    old, old_text = api_key
    # when
    response = api_client.post(f"{KEYS}/{old.key_id}/rotate", {"grace_period": 0}, format="json",
                               **bearer(admin_text))
    # then
    assert response.status_code == HTTPStatus.CREATED
    assert problem_of(api_client.get(INFO, **bearer(old_text)))["code"] == "api_key_revoked"
    assert api_client.get(INFO, **bearer(response.json()["key"])).status_code == HTTPStatus.OK


@pytest.mark.parametrize("grace", [-1, 31 * 86400, "soon"])
def test_key_rotate_bad_grace_is_400_and_changes_nothing(api_client, admin_key, api_key, grace):
    # given
    _, admin_text = admin_key
    old, old_text = api_key
    before = ApiKey.objects.count()
    # when
    response = api_client.post(f"{KEYS}/{old.key_id}/rotate", {"grace_period": grace}, format="json",
                               **bearer(admin_text))
    # then
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert problem_of(response)["code"] == "invalid_input"
    assert ApiKey.objects.count() == before
    old.refresh_from_db()
    assert (old.status, old.rotated_to, old.expires_at) == ("active", None, None)


def test_key_rotate_of_a_revoked_key_is_refused(api_client, admin_key, api_key):
    # given
    _, admin_text = admin_key
    old, _ = api_key
    api_client.post(f"{KEYS}/{old.key_id}/revoke", **bearer(admin_text))
    before = ApiKey.objects.count()
    # when
    response = api_client.post(f"{KEYS}/{old.key_id}/rotate", {"grace_period": 0}, format="json",
                               **bearer(admin_text))
    # then
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "revoked" in problem_of(response)["detail"]
    assert ApiKey.objects.count() == before


def test_dashboard_session_on_public_host_cannot_reach_keys(manager):
    # given a signed-in user on the public host, where no workspace is named
    client = client_for(None, manager)
    # when
    response = client.get(KEYS)
    # then
    assert response.status_code == HTTPStatus.NOT_FOUND
    assert problem_of(response)["code"] == "not_found"
