"""Signup on the public site: user + workspace + owner membership, then the handoff to the subdomain."""

from http import HTTPStatus
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.db import connection
from django.test import Client
from django_tenants.utils import schema_context

from accounts.models import Membership, User
from accounts.permissions import Role
from auditing.models import AuditEvent
from tenants.models import Workspace
from tests.accounts.helpers import field_errors, handoff_url, row_counts, workspace_schemas
from tests.conftest import client_for
from tests.factories import UserFactory

GOOD = {
    "full_name": "Ana Lima",
    "email": "ana@initech.test",
    "password": "a sound passphrase 42",
    "workspace_name": "Initech",
    "slug": "initech",
}


def _signup(**changes):
    return client_for(None).post("/signup/", {**GOOD, **changes})


def _tables_in(schema: str) -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = %s", [schema])
        return {row[0] for row in cursor.fetchall()}


def test_signup_creates_a_working_workspace_on_its_subdomain():
    # given an empty platform
    before = workspace_schemas()

    # when someone signs up on the public site
    response = _signup()

    # then they are sent on to their workspace's own host with a one-time sign-in link
    target = urlsplit(handoff_url(response))
    assert b"Opening Initech" in response.content
    assert target.hostname == f"initech.{settings.BASE_DOMAIN}"
    assert target.path.startswith("/auth/handoff/")
    # and following it on that host (its own cookie jar) signs them in and lands on the dashboard
    browser = Client(HTTP_HOST=target.hostname)
    landed = browser.get(target.path, follow=True)
    assert landed.status_code == HTTPStatus.OK
    assert landed.redirect_chain[-1][0] == "/"
    assert b"<h1>Initech</h1>" in landed.content
    assert landed.wsgi_request.user.email == "ana@initech.test"
    assert browser.get("/members/").status_code == HTTPStatus.OK
    # and the rows say the same: one owner, one workspace, one schema cloned from the template
    workspace = Workspace.objects.get(slug="initech")
    assert workspace.name == "Initech"
    assert workspace.is_active
    membership = Membership.objects.get(workspace=workspace)
    assert (membership.user.email, membership.role, membership.is_active) == ("ana@initech.test", Role.OWNER, True)
    assert workspace_schemas() - before == {"ws_initech"}
    template_tables = _tables_in(settings.TENANT_BASE_SCHEMA)
    assert AuditEvent._meta.db_table in template_tables
    assert _tables_in("ws_initech") == template_tables
    # and the new schema is usable: the signup wrote its workspace's first audit rows there
    with schema_context("ws_initech"):
        AuditEvent.objects.count()


def test_signup_email_is_stored_lowercased_and_logs_in_case_insensitively():
    # given
    _signup(email="Ana@Initech.TEST")
    # when
    response = client_for(None).post("/login/", {"username": "ANA@initech.test", "password": GOOD["password"]})
    # then
    assert User.objects.get().email == "ana@initech.test"
    assert response.status_code == HTTPStatus.FOUND


def test_signup_does_not_redirect_across_origins_from_the_form_post():
    # given our CSP's form-action 'self', under which browsers refuse a 302 from a form's
    # POST to another origin (the workspace host)
    # when
    response = _signup()
    # then the POST answers with a same-origin page that moves on by itself
    assert response.status_code == HTTPStatus.OK
    assert "form-action 'self'" in response["Content-Security-Policy"]
    assert f'<a href="{handoff_url(response)}">Continue</a>'.encode() in response.content.replace(b"&amp;", b"&")


def test_open_workspace_from_the_public_site_signs_in_on_its_host(workspace, owner, other_workspace):
    # given the owner signed in on the public site
    public = client_for(None, owner)
    assert b'action="/go/acme/"' in public.get("/workspaces/").content
    # when they open acme
    target = urlsplit(handoff_url(public.post("/go/acme/")))
    # then they are signed in on acme's host
    browser = Client(HTTP_HOST=target.hostname)
    assert target.hostname == "acme.localhost"
    assert browser.get(target.path, follow=True).wsgi_request.user == owner
    # and a workspace they don't belong to, or a GET, opens nothing
    assert public.post("/go/globex/").status_code == HTTPStatus.NOT_FOUND
    assert public.post("/go/nothing-here/").status_code == HTTPStatus.NOT_FOUND
    assert public.get("/go/acme/").status_code == HTTPStatus.METHOD_NOT_ALLOWED


def test_handoff_token_works_once():
    # given a signup's handoff link, already used once
    location = urlsplit(handoff_url(_signup()))
    Client(HTTP_HOST=location.hostname).get(location.path)
    # when it is replayed in another browser
    replay = Client(HTTP_HOST=location.hostname)
    response = replay.get(location.path, follow=True)
    # then that browser is sent to log in, not signed in
    assert response.redirect_chain[-1][0] == "/login/"
    assert b"That sign-in link has expired" in response.content
    assert not response.wsgi_request.user.is_authenticated


def test_handoff_token_of_one_workspace_does_not_sign_in_on_another(other_workspace):
    # given a handoff link for initech, and a workspace the same person has no business in
    location = urlsplit(handoff_url(_signup()))
    # when the link's path is opened on globex's host
    client = Client(HTTP_HOST=f"globex.{settings.BASE_DOMAIN}")
    response = client.get(location.path, follow=True)
    # then nobody is signed in there
    assert response.redirect_chain[-1][0] == "/login/"
    assert not response.wsgi_request.user.is_authenticated
    assert client.get("/").status_code == HTTPStatus.FOUND  # dashboard still asks for a login


def test_handoff_garbage_token_is_sent_to_login(workspace):
    # when
    response = client_for(workspace).get("/auth/handoff/not-a-token/", follow=True)
    # then
    assert response.redirect_chain[-1][0] == "/login/"
    assert not response.wsgi_request.user.is_authenticated


@pytest.mark.parametrize(
    ("changes", "field", "message"),
    [
        ({"email": "not-an-email"}, "email", "Enter a valid email address."),
        ({"email": ""}, "email", "This field is required."),
        ({"password": "short"}, "password", "This password is too short."),
        ({"password": "password123"}, "password", "This password is too common."),
        ({"password": "73829104658"}, "password", "This password is entirely numeric."),
        ({"slug": "Bad Slug!"}, "slug", "Use 3-40 lowercase letters, digits or hyphens"),
        ({"slug": "ab"}, "slug", "Use 3-40 lowercase letters, digits or hyphens"),
        ({"slug": "-initech"}, "slug", "Use 3-40 lowercase letters, digits or hyphens"),
        ({"slug": "admin"}, "slug", "This address is reserved."),
        ({"slug": "www"}, "slug", "This address is reserved."),
        ({"slug": ""}, "slug", "This field is required."),
        ({"workspace_name": ""}, "workspace_name", "This field is required."),
        ({"workspace_name": "   "}, "workspace_name", "This field is required."),
    ],
)
def test_signup_bad_input_is_shown_next_to_the_field_and_creates_nothing(changes, field, message):
    # given
    before = row_counts()
    # when
    response = _signup(**changes)
    # then the form comes back with the message next to the offending field
    assert response.status_code == HTTPStatus.BAD_REQUEST
    errors = field_errors(response)
    assert list(errors) == [field]
    assert errors[field][0].startswith(message)
    # and no user, workspace, membership or schema was created
    assert row_counts() == before
    assert not User.objects.filter(email__iexact=changes.get("email") or GOOD["email"]).exists()


@pytest.mark.parametrize("email", ["taken@acme.test", "TAKEN@ACME.TEST", "Taken@Acme.Test", "  taken@acme.test "])
def test_signup_with_a_taken_email_in_any_case_is_refused(email):
    # given an existing account
    UserFactory(email="taken@acme.test")
    before = row_counts()
    # when
    response = _signup(email=email)
    # then
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert field_errors(response) == {"email": ["An account with this email already exists. Log in instead."]}
    assert row_counts() == before


def test_signup_with_a_taken_slug_is_refused_and_rolls_back_the_user(workspace):
    # given acme exists
    before = row_counts()
    # when a new person asks for the same address (in another case)
    response = _signup(slug="ACME")
    # then the message is next to the address, and the user created earlier in the same transaction is gone
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert field_errors(response) == {"slug": ["The address 'acme' is taken. Choose another."]}
    assert row_counts() == before
    assert not User.objects.filter(email=GOOD["email"]).exists()


def test_signup_keeps_what_was_typed_except_the_password():
    # when
    response = _signup(slug="admin")
    # then the person does not retype everything
    page = response.content.decode()
    assert 'value="ana@initech.test"' in page
    assert 'value="Initech"' in page
    assert GOOD["password"] not in page


def test_signup_page_renders_on_public_host_only(workspace):
    # when / then
    assert client_for(None).get("/signup/").status_code == HTTPStatus.OK
    assert client_for(workspace).get("/signup/").status_code == HTTPStatus.NOT_FOUND
