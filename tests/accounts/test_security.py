"""CSRF on every form post, and the Content-Security-Policy on HTML pages."""

import re
from http import HTTPStatus

from django.test import Client

from accounts.models import Membership
from accounts.permissions import Role
from tests.accounts.helpers import invitation_state, membership_state, row_counts
from tests.conftest import client_for
from tests.factories import PASSWORD

SIGNUP = {"full_name": "Ana", "email": "ana@initech.test", "password": "a sound passphrase 42",
          "workspace_name": "Initech", "slug": "initech"}


def _strict(host: str, user=None) -> Client:
    client = Client(enforce_csrf_checks=True, HTTP_HOST=host)
    if user is not None:
        client.force_login(user)
    return client


def _token(client: Client, path: str) -> str:
    page = client.get(path).content.decode()
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page).group(1)


def test_signup_post_without_csrf_token_is_refused_and_creates_nothing():
    # given
    client = _strict("localhost")
    before = row_counts()
    # when
    response = client.post("/signup/", SIGNUP)
    # then
    assert response.status_code == HTTPStatus.FORBIDDEN
    assert row_counts() == before
    # and the same form with the page's token goes through (so the token was the reason)
    with_token = client.post("/signup/", {**SIGNUP, "csrfmiddlewaretoken": _token(client, "/signup/")})
    assert b"Check your email" in with_token.content


def test_login_and_logout_posts_without_csrf_token_are_refused(workspace, owner):
    # when a login is posted without the form's token / then it is refused
    response = _strict("acme.localhost").post("/login/", {"username": owner.email, "password": PASSWORD})
    assert response.status_code == HTTPStatus.FORBIDDEN
    # given a signed-in owner / when a cross-site form posts to logout / then they stay signed in
    client = _strict("acme.localhost", owner)
    assert client.post("/logout/").status_code == HTTPStatus.FORBIDDEN
    assert client.get("/").status_code == HTTPStatus.OK


def test_member_actions_without_csrf_token_are_refused_and_change_nothing(workspace, owner, member):
    # given an owner's browser, and a forged cross-site post for each action
    client = _strict("acme.localhost", owner)
    target = Membership.objects.get(user=member)
    before = (membership_state(), invitation_state())
    forged = [
        ("/members/", {"email": "evil@example.test", "role": Role.OWNER}),
        (f"/members/{target.pk}/role/", {"role": Role.OWNER}),
        (f"/members/{target.pk}/suspend/", {}),
        (f"/members/{target.pk}/remove", {}),
    ]
    # when / then
    for path, data in forged:
        assert client.post(path, data).status_code == HTTPStatus.FORBIDDEN, path
    assert (membership_state(), invitation_state()) == before


def _assert_csp(response):
    policy = response["Content-Security-Policy"]
    for directive in ("default-src 'self'", "script-src 'self'", "object-src 'none'", "frame-ancestors 'none'"):
        assert directive in policy
    assert "unsafe-inline" not in policy
    assert response["X-Frame-Options"] == "DENY"
    # and the page itself keeps to it: no inline script or style the policy would block
    page = response.content.decode()
    assert not re.search(r"<script(?![^>]*\bsrc=)", page)
    assert "<style" not in page and " style=" not in page
    assert not re.search(r"\son[a-z]+=", page)  # no inline event handlers


def test_csp_header_is_on_html_pages(workspace, owner, member):
    # given pages of both hosts, signed in and out, including error pages
    public, dashboard, anonymous = client_for(None), client_for(workspace, owner), client_for(workspace)
    pages = [
        (public, "/", HTTPStatus.OK),
        (public, "/signup/", HTTPStatus.OK),
        (public, "/login/", HTTPStatus.OK),
        (public, "/password-reset/", HTTPStatus.OK),
        (anonymous, "/login/", HTTPStatus.OK),
        (anonymous, "/invite/nonsense/", HTTPStatus.BAD_REQUEST),
        (dashboard, "/", HTTPStatus.OK),
        (dashboard, "/members/", HTTPStatus.OK),
        (dashboard, "/no-such-page/", HTTPStatus.NOT_FOUND),
        (client_for(workspace, member), f"/members/{Membership.objects.get(user=owner).pk}/suspend/",
         HTTPStatus.FORBIDDEN),
    ]
    for client, path, status in pages:
        # when
        response = client.post(path) if status == HTTPStatus.FORBIDDEN else client.get(path)
        # then
        assert response.status_code == status, path
        assert response["Content-Type"].startswith("text/html")
        _assert_csp(response)
