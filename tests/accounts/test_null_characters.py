"""A NUL character in any account form: a clear message next to the field, nothing changed, never a 500.

PostgreSQL refuses NUL in text and JSON, so a NUL that reached an INSERT crashed the request
(the failed-login audit row did: issue 18, finding 6). Django's CharField refuses NUL
(ProhibitNullCharactersValidator); these tests pin that each form really does, and that
what is recorded about the attempt is stored with the NUL replaced.
"""

import re
from http import HTTPStatus

import pytest
from django.core import mail
from django.test import Client

from accounts.permissions import Role
from tests.accounts.helpers import field_errors, row_counts
from tests.auditing.conftest import events
from tests.conftest import client_for
from tests.factories import PASSWORD, UserFactory

NUL_MESSAGE = "Null characters are not allowed."


def _assert_nul_refused(response, field: str) -> None:
    """The message sits next to `field` (an email field may also say the address is not valid)."""
    errors = field_errors(response)
    assert list(errors) == [field], errors
    assert NUL_MESSAGE in errors[field]


def _login(host: str, path: str, username: str, password: str):
    return Client(HTTP_HOST=host).post(path, {"username": username, "password": password})


@pytest.mark.parametrize("field", ["username", "password"])
def test_login_with_a_nul_character_is_a_field_error_and_is_recorded(workspace, member, field):
    # given a member's email or password with a NUL in it
    data = {"username": member.email, "password": PASSWORD, field: None}
    data[field] = "member\x00@acme.test" if field == "username" else PASSWORD + "\x00"
    # when it is posted to the workspace's login form
    response = _login("acme.localhost", "/login/", data["username"], data["password"])
    # then the form says so next to the field, and nobody is signed in
    assert response.status_code == HTTPStatus.BAD_REQUEST
    _assert_nul_refused(response, field)
    assert "_auth_user_id" not in response.wsgi_request.session
    # and the attempt is recorded, the NUL replaced in what is stored
    [failed] = events(workspace, action="login_failed")
    assert "\x00" not in failed.details["email"]
    if field == "username":
        assert failed.details["email"] == "member\ufffd@acme.test"


def test_operator_console_login_with_a_nul_character_is_a_field_error_and_is_recorded():
    # given an operator
    UserFactory(email="ops@tollgate.test", is_staff=True)
    # when a NUL comes in the console's username field
    response = _login("localhost", "/admin/login/", "ops\x00@tollgate.test", PASSWORD)
    # then it is a message next to the field, nobody is signed in, and the attempt is recorded
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert NUL_MESSAGE in response.content.decode()
    assert "_auth_user_id" not in response.wsgi_request.session
    [failed] = events(None, action="login_failed")
    assert failed.details["email"] == "ops\ufffd@tollgate.test"


@pytest.mark.parametrize("field", ["full_name", "email", "password", "workspace_name", "slug"])
def test_signup_with_a_nul_character_is_a_field_error_and_creates_nothing(field):
    # given a signup with a NUL in one field
    data = {"full_name": "Ana", "email": "ana@initech.test", "password": "a sound passphrase 42",
            "workspace_name": "Initech", "slug": "initech"}
    data[field] = data[field][:2] + "\x00" + data[field][2:]
    before = row_counts()
    # when it is posted
    response = client_for(None).post("/signup/", data)
    # then the message is next to that field, and nothing was created or sent
    assert response.status_code == HTTPStatus.BAD_REQUEST
    _assert_nul_refused(response, field)
    assert row_counts() == before
    assert mail.outbox == []


@pytest.mark.parametrize("field", ["full_name", "password"])
def test_invitation_accept_with_a_nul_character_is_a_field_error(workspace, owner, field,
                                                                 django_capture_on_commit_callbacks):
    # given an invitation
    with django_capture_on_commit_callbacks(execute=True):
        client_for(workspace, owner).post("/members/", {"email": "new@acme.test", "role": Role.MEMBER})
    path = re.search(r"https?://[^/]+(/invite/\S+/)", mail.outbox[0].body).group(1)
    before = row_counts()
    data = {"full_name": "New Person", "password": "a sound passphrase 42"}
    data[field] = data[field][:3] + "\x00" + data[field][3:]
    # when the invitee posts the form with a NUL in it
    response = client_for(workspace).post(path, data)
    # then the message is next to the field, and no account or membership was made
    assert response.status_code == HTTPStatus.BAD_REQUEST
    _assert_nul_refused(response, field)
    assert row_counts() == before


def test_password_reset_request_with_a_nul_character_is_a_field_error(member):
    # when a reset is asked for an address with a NUL in it
    response = client_for(None).post("/password-reset/", {"email": "member\x00@acme.test"})
    # then the form says so next to the field, and nothing is sent
    assert response.status_code == HTTPStatus.BAD_REQUEST
    _assert_nul_refused(response, "email")
    assert mail.outbox == []


def test_password_reset_confirm_with_a_nul_character_is_a_field_error(member):
    # given a reset link
    client_for(None).post("/password-reset/", {"email": member.email})
    path = re.search(r"https?://[^/]+(/password-reset/\S+/\S+/)", mail.outbox[0].body).group(1)
    browser = Client(HTTP_HOST="localhost")
    form = browser.get(path, follow=True)
    # when the new password carries a NUL
    new = "a brand new\x00 passphrase"
    response = browser.post(form.redirect_chain[-1][0], {"new_password1": new, "new_password2": new})
    # then it is refused next to the field, and the old password still works
    errors = field_errors(response)
    assert errors == {"new_password1": [NUL_MESSAGE], "new_password2": [NUL_MESSAGE]}
    member.refresh_from_db()
    assert member.check_password(PASSWORD)
