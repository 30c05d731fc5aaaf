from http import HTTPStatus

from django.test import Client

from tenants.services import workspace_set_status
from tests.conftest import client_for


def test_unknown_host_is_a_plain_404_page():
    # given a host no workspace uses
    client = Client(HTTP_HOST="nobody.localhost")
    # when
    response = client.get("/")
    # then
    assert response.status_code == HTTPStatus.NOT_FOUND
    assert b"No workspace is served at nobody.localhost" in response.content


def test_unknown_host_on_api_is_a_problem():
    response = Client(HTTP_HOST="nobody.localhost").get("/api/v1/info")
    assert response.status_code == HTTPStatus.NOT_FOUND
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == "unknown_host"
    assert response.json()["request_id"] == response["X-Request-ID"]


def test_unknown_custom_domain_and_nested_subdomain_are_404():
    assert Client(HTTP_HOST="api.example.com").get("/").status_code == HTTPStatus.NOT_FOUND
    assert Client(HTTP_HOST="a.b.localhost").get("/").status_code == HTTPStatus.NOT_FOUND


def test_workspace_host_serves_login_page(workspace):
    response = client_for(workspace).get("/login/")
    assert response.status_code == HTTPStatus.OK
    assert b"Log in to Acme" in response.content


def test_suspended_workspace_page_is_403_and_api_is_problem(workspace, owner):
    # given
    workspace_set_status(workspace=workspace, status="suspended")
    client = client_for(workspace, owner)
    # when
    page = client.get("/")
    api = client.get("/api/v1/info")
    # then
    assert page.status_code == HTTPStatus.FORBIDDEN
    assert b"suspended" in page.content
    assert api.status_code == HTTPStatus.FORBIDDEN
    assert api.json()["code"] == "workspace_suspended"


def test_reactivated_workspace_is_served_again(workspace, owner, committed):
    workspace_set_status(workspace=workspace, status="suspended")
    assert client_for(workspace, owner).get("/").status_code == HTTPStatus.FORBIDDEN
    with committed():
        workspace_set_status(workspace=workspace, status="active")
    assert client_for(workspace, owner).get("/").status_code == HTTPStatus.OK


def test_public_hosts_come_from_the_setting_alone(settings):
    # given the defaults: IPv6 loopback with a port is the public site
    assert Client(HTTP_HOST="[::1]:8000").get("/health/").status_code == HTTPStatus.OK
    # when an operator serves the public site on its domain only
    settings.PUBLIC_HOSTS = ["example.com"]
    # then the loopback names are unknown hosts like any other
    assert Client(HTTP_HOST="127.0.0.1").get("/").status_code == HTTPStatus.NOT_FOUND
    assert Client(HTTP_HOST="example.com").get("/").status_code == HTTPStatus.OK


def test_workspace_create_forgets_only_its_own_host_in_every_cache(workspace, django_capture_on_commit_callbacks):
    from core.cache import MISSING
    from tenants import selectors
    from tenants.services import workspace_create

    # given acme's host served from memory, and initech's remembered as unknown
    assert selectors.workspace_for_host("acme.localhost") == workspace
    assert selectors.workspace_for_host("initech.localhost") is None
    # when initech is created and its invalidation goes out (on commit)
    with django_capture_on_commit_callbacks(execute=True):
        initech = workspace_create(name="Initech", slug="initech")
    # then initech's host is looked up afresh, and acme's is still served from memory
    assert selectors._hosts.get("initech.localhost") is MISSING
    assert selectors._hosts.get("acme.localhost") == workspace
    assert selectors.workspace_for_host("initech.localhost") == initech
