"""Hosts that name no workspace fail closed with a plain 404; custom domains route only once verified."""

from http import HTTPStatus

import pytest
from django.test import Client

from core.errors import Conflict
from tenants.services import domain_add, domain_check_record
from tests.conftest import make_workspace


def test_unknown_host_refuses_every_method_and_path_with_404():
    # given a host no workspace uses
    client = Client(HTTP_HOST="nobody.localhost")
    # when / then
    for response in (client.get("/members/"), client.post("/login/", {"username": "a@b.c", "password": "x"}),
                     client.get("/admin/"), client.get("/signup/")):
        assert response.status_code == HTTPStatus.NOT_FOUND
        assert b"No workspace is served at nobody.localhost" in response.content


def test_hostile_host_headers_never_reach_a_workspace(workspace):
    # when / then hosts that merely contain a workspace's host are not it
    for host in ("acme.localhost.evil.test", "evil.test", "acme..localhost", "x.acme.localhost"):
        response = Client(HTTP_HOST=host).get("/login/")
        assert response.status_code in (HTTPStatus.NOT_FOUND, HTTPStatus.BAD_REQUEST), host
        assert b"Acme" not in response.content


def test_workspace_host_is_case_and_port_insensitive(workspace):
    # when / then
    for host in ("ACME.localhost", "acme.localhost:8000", "acme.localhost."):
        response = Client(HTTP_HOST=host).get("/login/")
        assert response.status_code == HTTPStatus.OK, host
        assert b"Log in to Acme" in response.content


def test_workspace_is_reachable_right_after_a_404_for_its_host(committed):
    # given its host was looked up (and the miss cached) before it existed
    assert Client(HTTP_HOST="initech.localhost").get("/login/").status_code == HTTPStatus.NOT_FOUND
    # when it is created
    with committed():
        make_workspace("initech")
    # then it is served at once
    assert Client(HTTP_HOST="initech.localhost").get("/login/").status_code == HTTPStatus.OK


def test_custom_domain_routes_only_once_verified(workspace, settings, committed):
    # given a custom domain added but not verified (and allowed by the operator's DJANGO_ALLOWED_HOSTS)
    settings.ALLOWED_HOSTS = [*settings.ALLOWED_HOSTS, "api.acme.test"]
    domain = domain_add(workspace=workspace, domain="API.Acme.test.")
    client = Client(HTTP_HOST="api.acme.test")
    # when / then it is an unknown host until verified
    assert client.get("/login/").status_code == HTTPStatus.NOT_FOUND
    with committed():
        domain_check_record(domain=domain, ok=True)  # what branding.domains records when the TXT record is found
    response = client.get("/login/")
    assert response.status_code == HTTPStatus.OK
    assert b"Log in to Acme" in response.content


def test_custom_domain_cannot_be_taken_twice(workspace, other_workspace):
    # given
    domain_add(workspace=workspace, domain="api.acme.test")
    # when / then
    with pytest.raises(Conflict, match="This domain is already in use."):
        domain_add(workspace=other_workspace, domain="API.acme.test")
