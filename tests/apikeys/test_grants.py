"""Nobody grants a key scope beyond what their own role may do (issue 18, finding 2).

A Manager may manage keys, but an `admin` key reads and exports the audit log, which the role
matrix denies to Managers: a Manager creating or rotating one would hand themselves that access.
"""

from http import HTTPStatus

import pytest
from rest_framework.test import APIClient

from accounts.permissions import Role, can, grantable_scopes
from apikeys.cache import keys as key_cache
from apikeys.models import ApiKey
from apikeys.services import apikey_create, apikey_rotate
from core.errors import DomainError
from tests.apikeys.conftest import bearer, problem_of
from tests.conftest import add_member, client_for, host_of

KEYS = "/api/v1/keys"
AUDIT = "/api/v1/audit-logs"


def _api_session(workspace, user) -> APIClient:
    client = APIClient(HTTP_HOST=host_of(workspace))
    client.force_login(user)
    return client


def _create_on_page(client, **fields):
    data = {"name": "web", "scopes": ["read", "write"], "environment": "live", "burst_window": "1"}
    data.update(fields)
    return client.post("/keys/new/", data)


# The grant table -------------------------------------------------------------------------------

def test_grantable_scopes_stay_within_each_roles_own_rights():
    # given what an admin key can do beyond a write key (read and export the audit log, manage keys)
    admin_scope_needs = ("audit.view", "audit.export", "keys.manage")
    # then only a role that may do all of it may grant it, and a role that may not manage keys grants nothing
    for role in Role:
        if "admin" in grantable_scopes(role):
            assert all(can(role, action) for action in admin_scope_needs), role
        if not can(role, "keys.manage"):
            assert grantable_scopes(role) == frozenset(), role
    assert grantable_scopes(Role.MANAGER) == {"read", "write"}
    assert grantable_scopes(None) == grantable_scopes("intern") == frozenset()


# Through the API (a dashboard session) ------------------------------------------------------

def test_key_create_with_admin_scope_by_a_manager_is_403_naming_the_scope(workspace, manager):
    # given a Manager's session
    client = _api_session(workspace, manager)
    # when they ask for an admin key
    response = client.post(KEYS, {"name": "sneaky", "scopes": ["read", "admin"]}, format="json")
    # then it is refused, naming the scope, and no key exists
    assert response.status_code == HTTPStatus.FORBIDDEN
    body = problem_of(response)
    assert body["code"] == "scope_not_grantable"
    assert body["scope"] == "admin"
    assert "admin" in body["detail"]
    assert ApiKey.objects.filter(workspace=workspace).count() == 0


@pytest.mark.parametrize("role", [Role.ADMIN, Role.OWNER])
def test_key_create_with_admin_scope_by_an_admin_or_owner_succeeds(workspace, role):
    # given an Admin's or Owner's session
    client = _api_session(workspace, add_member(workspace, role))
    # when
    response = client.post(KEYS, {"name": "ops", "scopes": ["admin"]}, format="json")
    # then
    assert response.status_code == HTTPStatus.CREATED, response.content
    assert ApiKey.objects.get(key_id=response.json()["id"]).scopes == ["admin"]


def test_key_create_by_a_manager_within_their_role_succeeds(workspace, manager):
    # given
    client = _api_session(workspace, manager)
    # when
    response = client.post(KEYS, {"name": "worker", "scopes": ["read", "write"]}, format="json")
    # then
    assert response.status_code == HTTPStatus.CREATED
    assert ApiKey.objects.get(key_id=response.json()["id"]).scopes == ["read", "write"]


def test_key_rotate_of_an_admin_key_by_a_manager_is_403_and_changes_nothing(workspace, manager, admin_key):
    # given an admin key an Owner made, and a Manager's session
    old, _ = admin_key
    client = _api_session(workspace, manager)
    # when the Manager rotates it
    response = client.post(f"{KEYS}/{old.key_id}/rotate", {"grace_period": 0}, format="json")
    # then no new admin secret is handed out and the old key is untouched
    assert response.status_code == HTTPStatus.FORBIDDEN
    body = problem_of(response)
    assert body["code"] == "scope_not_grantable"
    assert body["scope"] == "admin"
    assert "key" not in body
    assert ApiKey.objects.filter(workspace=workspace).count() == 1
    old.refresh_from_db()
    assert (old.status, old.rotated_to, old.expires_at) == ("active", None, None)


def test_key_rotate_of_an_admin_key_by_an_admin_succeeds(workspace, admin_user, admin_key):
    # given
    old, _ = admin_key
    # when
    response = _api_session(workspace, admin_user).post(f"{KEYS}/{old.key_id}/rotate", {"grace_period": 0},
                                                        format="json")
    # then
    assert response.status_code == HTTPStatus.CREATED
    assert ApiKey.objects.get(key_id=response.json()["id"]).scopes == ["read", "write", "admin"]


def test_key_rotate_of_a_write_key_by_a_manager_succeeds(workspace, manager, api_key):
    # given a read/write key
    old, _ = api_key
    # when
    response = _api_session(workspace, manager).post(f"{KEYS}/{old.key_id}/rotate", {"grace_period": 0},
                                                     format="json")
    # then
    assert response.status_code == HTTPStatus.CREATED


def test_audit_log_stays_unreadable_to_keys_a_manager_makes(workspace, manager, api_client):
    # given a Manager who tries for an admin key, then takes what their role allows
    client = _api_session(workspace, manager)
    refused = client.post(KEYS, {"name": "auditor", "scopes": ["admin"]}, format="json")
    made = client.post(KEYS, {"name": "auditor", "scopes": ["read", "write"]}, format="json")
    text = made.json()["key"]
    # when that key reads the audit log and its export
    listed = api_client.get(AUDIT, **bearer(text))
    exported = api_client.get(AUDIT, {"format": "csv"}, **bearer(text))
    # then both are refused
    assert refused.status_code == HTTPStatus.FORBIDDEN
    for response in (listed, exported):
        assert response.status_code == HTTPStatus.FORBIDDEN
        assert problem_of(response)["code"] == "insufficient_scope"


# A key acting through the API grants at most its own scopes -----------------------------------

def test_key_create_by_a_key_is_limited_to_the_keys_own_scopes(workspace, owner):
    # given a key without the admin scope, acting as the creator (as the key API passes it)
    row, _ = apikey_create(workspace=workspace, name="writer", scopes=["write"], actor=owner)
    writer = key_cache.get(row.key_id)
    # when it grants admin, and then what it holds itself
    with pytest.raises(DomainError) as refused:
        apikey_create(workspace=workspace, name="escalated", scopes=["admin"], actor=writer)
    made, _ = apikey_create(workspace=workspace, name="reader", scopes=["read"], actor=writer)
    # then admin is refused, read (implied by write) is granted
    assert refused.value.code == "scope_not_grantable"
    assert refused.value.extra["scope"] == "admin"
    assert made.scopes == ["read"]
    assert not ApiKey.objects.filter(name="escalated").exists()


def test_key_rotate_by_a_key_is_limited_to_the_keys_own_scopes(workspace, owner, admin_key):
    # given a write key acting on an admin key
    target, _ = admin_key
    row, _ = apikey_create(workspace=workspace, name="writer", scopes=["write"], actor=owner)
    writer = key_cache.get(row.key_id)
    # when
    with pytest.raises(DomainError) as refused:
        apikey_rotate(key=target, actor=writer)
    # then
    assert refused.value.code == "scope_not_grantable"
    target.refresh_from_db()
    assert target.rotated_to is None


def test_admin_key_creates_admin_keys_through_the_api(api_client, admin_key):
    # given
    _, text = admin_key
    # when
    response = api_client.post(KEYS, {"name": "deputy", "scopes": ["admin"]}, format="json", **bearer(text))
    # then
    assert response.status_code == HTTPStatus.CREATED


def test_key_create_by_a_user_who_is_not_a_member_is_refused(workspace, other_workspace):
    # given globex's owner acting on acme (no membership there)
    outsider = add_member(other_workspace, Role.OWNER)
    # when
    with pytest.raises(DomainError) as refused:
        apikey_create(workspace=workspace, name="x", scopes=["read"], actor=outsider)
    # then
    assert refused.value.code == "scope_not_grantable"
    assert ApiKey.objects.filter(workspace=workspace).count() == 0


# On the dashboard -----------------------------------------------------------------------------

def test_key_create_page_offers_a_manager_no_admin_scope(workspace, manager):
    # when
    body = client_for(workspace, manager).get("/keys/new/").content.decode()
    # then
    assert 'value="read"' in body and 'value="write"' in body
    assert 'value="admin"' not in body


@pytest.mark.parametrize("role", [Role.ADMIN, Role.OWNER])
def test_key_create_page_offers_admins_and_owners_the_admin_scope(workspace, role):
    # when
    body = client_for(workspace, add_member(workspace, role)).get("/keys/new/").content.decode()
    # then
    assert 'value="admin"' in body


def test_key_create_with_admin_scope_by_a_manager_shows_the_error_next_to_scopes(workspace, manager):
    # given a Manager who posts the admin scope anyway (a crafted form)
    client = client_for(workspace, manager)
    # when
    response = _create_on_page(client, scopes=["read", "admin"])
    # then
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "scopes" in response.context["form"].errors
    assert 'class="field-error"' in response.content.decode()
    assert ApiKey.objects.filter(workspace=workspace).count() == 0


@pytest.mark.parametrize("role", [Role.ADMIN, Role.OWNER])
def test_key_create_with_admin_scope_by_an_admin_or_owner_on_the_page(workspace, role):
    # given
    client = client_for(workspace, add_member(workspace, role))
    # when
    response = _create_on_page(client, scopes=["admin"])
    # then
    assert response.status_code in (HTTPStatus.OK, HTTPStatus.FOUND)
    assert ApiKey.objects.get(workspace=workspace).scopes == ["admin"]


def test_key_rotate_of_an_admin_key_by_a_manager_on_the_page_is_refused(workspace, manager, admin_key):
    # given
    old, _ = admin_key
    client = client_for(workspace, manager)
    # when
    page = client.get(f"/keys/{old.key_id}/rotate/")
    post = client.post(f"/keys/{old.key_id}/rotate/", {"grace_period": "0"})
    listed = client.get("/keys/").content.decode()
    # then the page says why, offers no rotate button, and nothing changed
    assert page.status_code == HTTPStatus.FORBIDDEN
    assert "admin" in page.content.decode()
    assert post.status_code == HTTPStatus.FORBIDDEN
    assert f'href="/keys/{old.key_id}/rotate/"' not in listed
    assert ApiKey.objects.filter(workspace=workspace).count() == 1
    old.refresh_from_db()
    assert (old.status, old.rotated_to) == ("active", None)


def test_key_rotate_of_an_admin_key_by_an_owner_on_the_page(workspace, owner, admin_key):
    # given
    old, _ = admin_key
    client = client_for(workspace, owner)
    # when
    listed = client.get("/keys/").content.decode()
    response = client.post(f"/keys/{old.key_id}/rotate/", {"grace_period": "0"})
    # then
    assert f'href="/keys/{old.key_id}/rotate/"' in listed
    assert response.status_code in (HTTPStatus.OK, HTTPStatus.FOUND)
    old.refresh_from_db()
    assert old.rotated_to is not None
