"""Operators suspend and reactivate workspaces from Django admin on the public host."""

from http import HTTPStatus

import pytest
from django.test import Client

from tenants.models import Workspace
from tenants.services import workspace_set_status
from tests.conftest import client_for
from tests.factories import UserFactory


@pytest.fixture
def operator():
    return UserFactory(email="ops@tollgate.test", is_staff=True, is_superuser=True)


def _admin(user) -> Client:
    client = Client(HTTP_HOST="localhost")
    client.force_login(user)
    return client


def _status(workspace) -> str:
    return Workspace.objects.get(pk=workspace.pk).status


def test_admin_suspend_action_blocks_pages_and_api_and_reactivate_restores(workspace, owner, operator, committed):
    # given an active workspace its owner is using
    owner_client = client_for(workspace, owner)
    assert owner_client.get("/").status_code == HTTPStatus.OK
    admin = _admin(operator)
    listing = admin.get("/admin/tenants/workspace/")
    assert listing.status_code == HTTPStatus.OK
    assert b"Suspend selected workspaces" in listing.content

    # when an operator suspends it from the workspace list
    with committed():
        response = admin.post("/admin/tenants/workspace/", {"action": "suspend", "_selected_action": [workspace.pk]},
                              follow=True)

    # then the operator is told, and the workspace's pages and API refuse at once
    assert b"Suspended 1 workspace(s)." in response.content
    assert _status(workspace) == Workspace.Status.SUSPENDED
    page = owner_client.get("/members/")
    assert page.status_code == HTTPStatus.FORBIDDEN
    assert b"Acme is suspended. Contact the platform operator to restore access." in page.content
    api = owner_client.get("/api/v1/info")
    assert api.status_code == HTTPStatus.FORBIDDEN
    assert api["Content-Type"] == "application/problem+json"
    assert api.json()["code"] == "workspace_suspended"
    assert client_for(workspace).post("/login/", {"username": owner.email}).status_code == HTTPStatus.FORBIDDEN

    # when the operator reactivates it
    with committed():
        response = admin.post("/admin/tenants/workspace/", {"action": "reactivate", "_selected_action": [workspace.pk]},
                              follow=True)

    # then it is served again
    assert b"Reactivated 1 workspace(s)." in response.content
    assert _status(workspace) == Workspace.Status.ACTIVE
    assert owner_client.get("/members/").status_code == HTTPStatus.OK


def test_admin_suspend_action_touches_only_the_selected_workspace(workspace, other_workspace, operator):
    # when
    _admin(operator).post("/admin/tenants/workspace/", {"action": "suspend", "_selected_action": [workspace.pk]})
    # then
    assert _status(workspace) == Workspace.Status.SUSPENDED
    assert _status(other_workspace) == Workspace.Status.ACTIVE
    assert client_for(other_workspace).get("/login/").status_code == HTTPStatus.OK


def test_admin_change_form_status_edit_suspends(workspace, owner, operator):
    # when an operator edits the status field on the workspace's page
    response = _admin(operator).post(f"/admin/tenants/workspace/{workspace.pk}/change/", {
        "name": "Acme", "status": Workspace.Status.SUSPENDED,
        "domains-TOTAL_FORMS": "0", "domains-INITIAL_FORMS": "0",
        "domains-MIN_NUM_FORMS": "0", "domains-MAX_NUM_FORMS": "1000",
    })
    # then it is suspended through the same service (and its pages refuse)
    assert response.status_code == HTTPStatus.FOUND, response.content
    assert _status(workspace) == Workspace.Status.SUSPENDED
    assert client_for(workspace, owner).get("/").status_code == HTTPStatus.FORBIDDEN


def test_admin_refuses_members_who_are_not_operators(workspace, owner):
    # given a workspace owner (not staff)
    before = _status(workspace)
    client = _admin(owner)
    # when
    listing = client.get("/admin/tenants/workspace/")
    action = client.post("/admin/tenants/workspace/", {"action": "suspend", "_selected_action": [workspace.pk]})
    # then they are sent to the admin login, and nothing changes
    assert listing.status_code == HTTPStatus.FOUND
    assert listing["Location"].startswith("/admin/login/")
    assert action.status_code == HTTPStatus.FOUND
    assert _status(workspace) == before


def test_admin_cannot_add_or_delete_workspaces(workspace, operator):
    # given (workspaces are created by signup or the command, which provision its schema)
    admin = _admin(operator)
    # when / then
    assert admin.get("/admin/tenants/workspace/add/").status_code == HTTPStatus.FORBIDDEN
    assert admin.post(f"/admin/tenants/workspace/{workspace.pk}/delete/", {"post": "yes"}).status_code == \
        HTTPStatus.FORBIDDEN
    assert Workspace.objects.filter(pk=workspace.pk).exists()


def test_suspended_workspace_page_leaks_no_dashboard(workspace, owner):
    # given a suspended workspace
    workspace_set_status(workspace=workspace, status=Workspace.Status.SUSPENDED)
    # when / then every page is the same 403, signed in or not
    for client in (client_for(workspace), client_for(workspace, owner)):
        for path in ("/", "/members/", "/login/", "/invite/x/"):
            response = client.get(path)
            assert response.status_code == HTTPStatus.FORBIDDEN, path
            assert b"owner@acme.test" not in response.content
    # and the public site is unaffected
    assert client_for(None).get("/").status_code == HTTPStatus.OK


def test_admin_lists_users_and_memberships(owner, operator):
    # given
    admin = _admin(operator)
    # when / then
    assert b"owner@acme.test" in admin.get("/admin/accounts/user/").content
    assert b"owner@acme.test" in admin.get("/admin/accounts/membership/").content
