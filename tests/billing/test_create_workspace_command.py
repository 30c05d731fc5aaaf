"""`manage.py create_workspace --slug S --name N --owner EMAIL`."""

import re
from http import HTTPStatus
from io import StringIO
from urllib.parse import urlsplit

import pytest
from django.core.management import CommandError, call_command
from django.test import Client

from accounts.models import Membership, User
from accounts.permissions import Role
from tenants.models import Workspace
from tests.accounts.helpers import row_counts, workspace_schemas
from tests.factories import PASSWORD, UserFactory


def _create(**options) -> str:
    out = StringIO()
    call_command("create_workspace", stdout=out, **options)
    return out.getvalue()


def test_create_workspace_for_an_existing_user():
    # given
    user = UserFactory(email="ops@example.test")
    # when
    output = _create(slug="initech", name="Initech", owner="OPS@example.test")
    # then
    workspace = Workspace.objects.get(slug="initech")
    assert workspace.name == "Initech"
    assert "ws_initech" in workspace_schemas()
    assert Membership.objects.get(workspace=workspace).user == user
    assert Membership.objects.get(workspace=workspace).role == Role.OWNER
    assert "Created workspace initech: http://initech.localhost/" in output
    # and the owner logs in on the new host with the password they had
    response = Client(HTTP_HOST="initech.localhost").post("/login/", {"username": user.email, "password": PASSWORD})
    assert (response.status_code, response["Location"]) == (HTTPStatus.FOUND, "/")


def test_create_workspace_for_a_new_owner_prints_a_link_to_choose_a_password():
    # when the owner has no account yet
    output = _create(slug="initech", name="Initech", owner="new.owner@example.test")
    # then the account exists, with no password anyone could guess
    user = User.objects.get(email="new.owner@example.test")
    assert not user.has_usable_password()
    assert Membership.objects.get(user=user).role == Role.OWNER
    # and the output gives a one-time link on the workspace host to choose one
    link = re.search(r"https?://\S+/password-reset/\S+/\S+/", output)
    assert link, output
    parts = urlsplit(link.group(0))
    assert parts.hostname == "initech.localhost"
    browser = Client(HTTP_HOST=parts.hostname)
    form = browser.get(parts.path, follow=True)
    assert b"Set password" in form.content
    browser.post(form.redirect_chain[-1][0], {"new_password1": "owner passphrase 99", "new_password2": "owner passphrase 99"})
    response = Client(HTTP_HOST="initech.localhost").post(
        "/login/", {"username": "new.owner@example.test", "password": "owner passphrase 99"}
    )
    assert response.status_code == HTTPStatus.FOUND


@pytest.mark.parametrize(
    ("options", "message"),
    [
        ({"slug": "acme", "name": "Acme again"}, "The address 'acme' is taken. Choose another."),
        ({"slug": "Not A Slug", "name": "X"}, "Use 3-40 lowercase letters, digits or hyphens"),
        ({"slug": "admin", "name": "X"}, "This address is reserved. Choose another."),
        ({"slug": "initech", "name": "  "}, "Give the workspace a name."),
        ({"slug": "initech", "name": "Initech", "owner": "not-an-email"}, "Enter a valid email address."),
    ],
)
def test_create_workspace_bad_input_errors_clearly_and_creates_nothing(workspace, options, message):
    # given acme exists
    before = row_counts()
    # when
    with pytest.raises(CommandError) as refused:
        _create(**{"owner": "someone.new@example.test", **options})
    # then
    assert str(refused.value).startswith(message)
    assert row_counts() == before
    assert not User.objects.filter(email="someone.new@example.test").exists()


def test_create_workspace_requires_its_arguments():
    # when the owner is left out / then the command says which argument is missing
    with pytest.raises(CommandError, match="the following arguments are required: --owner"):
        call_command("create_workspace", "--slug", "initech", "--name", "Initech")
