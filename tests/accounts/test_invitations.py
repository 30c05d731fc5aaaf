"""Invitations: sent by email from the members page, accepted once, refused clearly otherwise."""

import hashlib
import html
import re
from datetime import timedelta
from http import HTTPStatus
from urllib.parse import urlsplit

import pytest
from django.core import mail
from django.test import Client
from django.utils import timezone

from accounts.models import Invitation, Membership, User
from accounts.permissions import Role
from tests.accounts.helpers import (
    field_errors,
    form_errors,
    invitation_state,
    membership_state,
    row_counts,
)
from tests.conftest import add_member, client_for
from tests.factories import PASSWORD, UserFactory

NEW_PASSWORD = "a sound passphrase 42"


@pytest.fixture
def invite(workspace, owner, django_capture_on_commit_callbacks):
    """invite(email, role) -> the link from the email the members page sent."""

    def send(email="newcomer@example.test", role=Role.MEMBER, by=owner, where=workspace):
        mail.outbox.clear()
        with django_capture_on_commit_callbacks(execute=True):
            response = client_for(where, by).post("/members/", {"email": email, "role": role})
        assert response.status_code == HTTPStatus.FOUND, response.content
        assert len(mail.outbox) == 1
        return re.search(r"https?://\S+/invite/\S+/", mail.outbox[0].body).group(0)

    return send


def _open(link: str, client: Client | None = None):
    """(client on the link's host, the path) for following an emailed link."""
    parts = urlsplit(link)
    return client or Client(HTTP_HOST=parts.hostname), parts.path


def _snapshot():
    return row_counts(), membership_state(), invitation_state()


def test_invitation_email_is_sent_with_a_working_link(workspace, owner, invite):
    # when the owner invites someone from the members page
    link = invite("Newcomer@Example.test", Role.MANAGER)

    # then one email went to that address, naming the workspace, the role and the inviter
    message = mail.outbox[0]
    assert message.to == ["newcomer@example.test"]
    assert message.subject == "You're invited to Acme on Tollgate"
    assert "owner@acme.test invited you to join Acme on Tollgate as manager." in message.body
    assert urlsplit(link).hostname == "acme.localhost"
    # and its link opens the acceptance page on the workspace's host
    client, path = _open(link)
    page = client.get(path)
    assert page.status_code == HTTPStatus.OK
    assert b"Join Acme" in page.content
    assert b"You were invited as <strong>manager</strong> with <strong>newcomer@example.test</strong>" in page.content
    # and the pending invitation is listed on the members page; only a digest of the token is stored
    invitation = Invitation.objects.get()
    token = path.split("/")[2]
    assert invitation.token_digest == hashlib.sha256(token.encode()).hexdigest()
    assert token not in str(Invitation.objects.values().get())
    assert b"newcomer@example.test" in client_for(workspace, owner).get("/members/").content


def test_invitation_accept_as_new_user_creates_account_membership_and_signs_in(workspace, invite):
    # given
    client, path = _open(invite(role=Role.ADMIN))
    # when the invitee chooses a password
    response = client.post(path, {"full_name": "New Comer", "password": NEW_PASSWORD})
    # then they have an account, are an admin of acme, and are signed in on its dashboard
    assert response.status_code == HTTPStatus.FOUND
    assert response["Location"] == "/"
    user = User.objects.get(email="newcomer@example.test")
    assert user.full_name == "New Comer"
    assert user.check_password(NEW_PASSWORD)
    assert Membership.objects.get(user=user).role == Role.ADMIN
    assert Invitation.objects.get().accepted_at is not None
    dashboard = client.get("/")
    assert dashboard.status_code == HTTPStatus.OK
    assert b"Welcome to Acme." in dashboard.content


def test_invitation_accept_as_existing_user_through_login(workspace, invite):
    # given someone who already has a Tollgate account, but is not in acme yet
    UserFactory(email="newcomer@example.test")
    client, path = _open(invite())
    page = client.get(path)
    assert b"You already have an account." in page.content
    login_link = re.search(rb'href="(/login/\?next=[^"]+)"', page.content).group(1).decode()
    # when they follow the page's login link and log in there
    login = client.post(login_link, {"username": "newcomer@example.test", "password": PASSWORD,
                                     "next": path})
    # then they are brought back to the invitation (not refused as a stranger), and can accept it
    assert login.status_code == HTTPStatus.FOUND, login.content
    assert login["Location"] == path
    accepted = client.post(path)
    assert accepted.status_code == HTTPStatus.FOUND
    assert Membership.objects.get(user__email="newcomer@example.test", workspace=workspace).role == Role.MEMBER
    assert client.get("/").status_code == HTTPStatus.OK


def test_login_on_a_workspace_host_still_refuses_a_stranger_without_invitation(workspace, invite):
    # given an account with no membership and no invitation to acme, and someone else's pending invitation
    UserFactory(email="stranger@example.test")
    _, path = _open(invite())
    # when the stranger logs in on acme's host, even aiming at the other person's invitation
    response = client_for(workspace).post("/login/", {"username": "stranger@example.test", "password": PASSWORD,
                                                      "next": path})
    # then the login is refused with the same words as a wrong password
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "Please enter a correct email and password." in form_errors(response)[0]


def test_invitation_accept_as_signed_in_user(workspace, invite):
    # given the invited person, already signed in on acme's host
    user = UserFactory(email="newcomer@example.test")
    client, path = _open(invite(), client_for(workspace, user))
    assert b"Accept invitation" in client.get(path).content
    # when
    response = client.post(path)
    # then
    assert response.status_code == HTTPStatus.FOUND
    assert Membership.objects.get(user=user, workspace=workspace).role == Role.MEMBER


def test_invitation_accept_signed_in_as_someone_else_is_refused(workspace, invite):
    # given a signed-in user who is not the invitee
    other = UserFactory(email="other@example.test")
    client, path = _open(invite(), client_for(workspace, other))
    before = _snapshot()
    # when
    response = client.post(path)
    # then
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert form_errors(response) == ["This invitation is for newcomer@example.test. Log out and open the link again."]
    assert _snapshot() == before


def _assert_refused(response, message: str):
    assert response.status_code == HTTPStatus.BAD_REQUEST
    page = html.unescape(response.content.decode())
    assert "<h1>This invitation can't be used</h1>" in page
    assert message in page


def test_invitation_expired_is_refused_clearly(workspace, invite):
    # given an invitation 7 days and a second old
    client, path = _open(invite())
    Invitation.objects.update(expires_at=timezone.now() - timedelta(seconds=1))
    before = _snapshot()
    # when
    page = client.get(path)
    accept = client.post(path, {"password": NEW_PASSWORD})
    # then
    _assert_refused(page, "This invitation has expired. Ask the person who invited you for a new one.")
    _assert_refused(accept, "This invitation has expired.")
    assert _snapshot() == before


def test_invitation_expires_after_seven_days(workspace, invite):
    # when
    invite()
    # then
    invitation = Invitation.objects.get()
    assert timedelta(days=7) - timedelta(seconds=5) < invitation.expires_at - invitation.created_at <= timedelta(days=7)


def test_invitation_reused_is_refused_clearly(workspace, invite):
    # given an invitation already accepted
    link = invite()
    client, path = _open(link)
    client.post(path, {"password": NEW_PASSWORD})
    before = _snapshot()
    # when the link is used again, in another browser
    again, _ = _open(link)
    page = again.get(path)
    accept = again.post(path, {"password": "another sound passphrase"})
    # then
    _assert_refused(page, "This invitation has already been used. Log in instead.")
    _assert_refused(accept, "This invitation has already been used.")
    assert _snapshot() == before


def test_invitation_revoked_from_the_members_page_is_refused_clearly(workspace, owner, invite):
    # given the owner withdraws a pending invitation
    client, path = _open(invite())
    invitation = Invitation.objects.get()
    withdrawn = client_for(workspace, owner).post(f"/invitations/{invitation.pk}/revoke/", follow=True)
    assert b"The invitation to newcomer@example.test was withdrawn." in withdrawn.content
    assert b"No invitation is waiting." in withdrawn.content  # the list is empty: its empty state shows
    before = _snapshot()
    # when the invitee opens the link
    page = client.get(path)
    accept = client.post(path, {"password": NEW_PASSWORD})
    # then
    _assert_refused(page, "This invitation was withdrawn. Ask for a new one.")
    _assert_refused(accept, "This invitation was withdrawn.")
    assert _snapshot() == before


def test_invitation_replaced_by_a_new_one_is_withdrawn(workspace, invite):
    # given two invitations to the same address
    first, path = _open(invite(role=Role.MEMBER))
    second, new_path = _open(invite("NEWCOMER@example.test", role=Role.ADMIN))
    # when / then only the latest works
    _assert_refused(first.get(path), "This invitation was withdrawn.")
    assert second.post(new_path, {"password": NEW_PASSWORD}).status_code == HTTPStatus.FOUND
    assert Membership.objects.get(user__email="newcomer@example.test").role == Role.ADMIN


def test_invitation_for_another_workspace_is_refused_clearly(workspace, other_workspace, invite):
    # given acme's invitation, opened on globex's host
    _, path = _open(invite())
    client = client_for(other_workspace)
    before = _snapshot()
    # when
    page = client.get(path)
    accept = client.post(path, {"password": NEW_PASSWORD})
    # then
    _assert_refused(page, "This invitation is for a different workspace.")
    _assert_refused(accept, "This invitation is for a different workspace.")
    assert _snapshot() == before
    assert Invitation.objects.get().accepted_at is None


def test_invitation_unknown_token_is_refused_clearly(workspace):
    # given tokens no invitation has
    before = _snapshot()
    for token in ("nonsense", "x" * 43):
        # when / then
        _assert_refused(client_for(workspace).get(f"/invite/{token}/"), "This invitation link is not valid.")
        _assert_refused(client_for(workspace).post(f"/invite/{token}/", {"password": NEW_PASSWORD}),
                        "This invitation link is not valid.")
    assert _snapshot() == before


def test_invitation_link_is_not_served_on_the_public_host(workspace, invite):
    # given
    _, path = _open(invite())
    # when / then
    assert client_for(None).get(path).status_code == HTTPStatus.NOT_FOUND


WEAK_PASSWORDS = [
    ("short", "This password is too short."),
    ("password123", "This password is too common."),
    ("", "This field is required."),
    ("newcomer@example.test", "The password is too similar to the email."),
]


def test_invitation_accept_with_a_weak_password_is_refused_next_to_the_field(subtests, workspace, invite):
    # given
    client, path = _open(invite())
    before = _snapshot()
    for password, message in WEAK_PASSWORDS:
        with subtests.test(password=password):
            # when
            response = client.post(path, {"full_name": "New Comer", "password": password})
            # then the form comes back with the message next to the password
            assert response.status_code == HTTPStatus.BAD_REQUEST
            assert list(field_errors(response)) == ["password"]
            assert field_errors(response)["password"][0].startswith(message)
            assert _snapshot() == before
    # and the invitation still works
    assert client.post(path, {"password": NEW_PASSWORD}).status_code == HTTPStatus.FOUND


def test_invitation_accept_for_an_existing_account_without_login_creates_nothing(workspace, invite):
    # given the invitee has an account but is not signed in
    UserFactory(email="newcomer@example.test")
    client, path = _open(invite())
    before = _snapshot()
    # when they try to make a second account with the same address
    response = client.post(path, {"password": NEW_PASSWORD})
    # then
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert b"You already have an account." in response.content
    assert b'href="/login/?next=' in response.content
    assert _snapshot() == before


BAD_INVITES = [
    ({"email": "not-an-email", "role": Role.MEMBER}, "email", "Enter a valid email address."),
    ({"email": "", "role": Role.MEMBER}, "email", "This field is required."),
    ({"email": "someone@example.test", "role": "superuser"}, "role", "Select a valid choice."),
    ({"email": "someone@example.test"}, "role", "This field is required."),
    ({"email": "MEMBER@acme.test", "role": Role.MEMBER}, "email", "member@acme.test is already a member of this workspace."),
]


def test_invite_bad_input_is_shown_next_to_the_field_and_sends_nothing(subtests, workspace, owner, member):
    # given
    before = _snapshot()
    mail.outbox.clear()
    for data, field, message in BAD_INVITES:
        with subtests.test(data=data):
            # when
            response = client_for(workspace, owner).post("/members/", data)
            # then
            assert response.status_code == HTTPStatus.BAD_REQUEST
            errors = field_errors(response)
            assert list(errors) == [field]
            assert errors[field][0].startswith(message)
            assert _snapshot() == before
            assert mail.outbox == []


def test_invitation_accepted_in_one_workspace_does_not_give_access_to_another(workspace, other_workspace, invite):
    # given a new user who joined acme by invitation
    client, path = _open(invite())
    client.post(path, {"password": NEW_PASSWORD})
    add_member(other_workspace, Role.OWNER, email="owner@globex.test")
    # when they open globex
    response = client_for(other_workspace, User.objects.get(email="newcomer@example.test")).get("/")
    # then
    assert response.status_code == HTTPStatus.NOT_FOUND
