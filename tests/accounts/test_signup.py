"""Signup on the public site: the form, an emailed link, then user + workspace + owner membership
and the handoff to the subdomain.

The page never tells whether an address has an account, and it is throttled (issue 18,
finding 8): every valid signup answers "check your email"; a new address gets a link
that creates the workspace, an address with an account gets an email saying someone tried.
"""

import re
from datetime import timedelta
from http import HTTPStatus
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.contrib.auth.hashers import check_password
from django.core import mail
from django.db import connection
from django.test import Client
from django.utils import timezone
from django_ratelimit.core import _split_rate
from django_tenants.utils import schema_context

from accounts.models import Membership, SignupRequest, User
from accounts.permissions import Role
from auditing.models import AuditEvent
from tenants.models import Workspace
from tenants.services import workspace_create
from tests.accounts.helpers import (
    field_errors,
    form_errors,
    handoff_url,
    rate_limit,
    row_counts,
    steady,
    workspace_schemas,
)
from tests.conftest import client_for
from tests.factories import PASSWORD, UserFactory

GOOD = {
    "full_name": "Ana Lima",
    "email": "ana@initech.test",
    "password": "a sound passphrase 42",
    "workspace_name": "Initech",
    "slug": "initech",
}
CONFIRM = re.compile(r"https?://\S+/signup/confirm/\S+/")


@pytest.fixture
def signup(django_capture_on_commit_callbacks):
    """signup(**changes) -> the page's answer to the form; its email, if any, is in the outbox."""

    def post(client: Client | None = None, **changes):
        with django_capture_on_commit_callbacks(execute=True):
            return (client or client_for(None)).post("/signup/", {**GOOD, **changes})

    return post


def _confirm_link() -> str:
    [link] = [m.group(0) for message in mail.outbox if (m := CONFIRM.search(message.body))]
    return link


@pytest.fixture
def signed_up(signup):
    """signed_up(**changes) -> the answer to the confirmation's button: the page that opens the workspace."""

    def run(**changes):
        assert b"Check your email" in signup(**changes).content
        link = urlsplit(_confirm_link())
        browser = Client(HTTP_HOST=link.hostname)
        assert browser.get(link.path).status_code == HTTPStatus.OK
        return browser.post(link.path)

    return run


def _tables_in(schema: str) -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT table_name FROM information_schema.tables WHERE table_schema = %s", [schema])
        return {row[0] for row in cursor.fetchall()}


def test_signup_creates_a_working_workspace_on_its_subdomain(signup):
    # given an empty platform
    before = workspace_schemas()
    counts = row_counts()

    # when someone signs up on the public site
    response = signup()

    # then they are asked to check their email, and nothing exists yet
    assert response.status_code == HTTPStatus.OK
    assert b"Check your email" in response.content and b"ana@initech.test" in response.content
    assert {k: v for k, v in row_counts().items() if k != "signup_requests"} == {
        k: v for k, v in counts.items() if k != "signup_requests"}
    # and one email went to that address, with a link on the configured public site
    [message] = mail.outbox
    assert message.to == ["ana@initech.test"]
    link = urlsplit(_confirm_link())
    assert link.hostname == settings.BASE_DOMAIN
    # when they follow it: a page with one button, then the button
    browser = Client(HTTP_HOST=link.hostname)
    page = browser.get(link.path)
    assert page.status_code == HTTPStatus.OK and b"Create Initech" in page.content
    response = browser.post(link.path)

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
    assert membership.user.full_name == "Ana Lima"
    assert workspace_schemas() - before == {"ws_initech"}
    template_tables = _tables_in(settings.TENANT_BASE_SCHEMA)
    assert AuditEvent._meta.db_table in template_tables
    assert _tables_in("ws_initech") == template_tables
    # and the new schema is usable: the signup wrote its workspace's first audit rows there
    with schema_context("ws_initech"):
        AuditEvent.objects.count()


def test_signup_keeps_only_a_hash_of_the_password_until_confirmed(signup, signed_up):
    # when someone signs up
    signup()
    # then the pending signup holds a hash, never the password
    pending = SignupRequest.objects.get()
    assert GOOD["password"] not in str(SignupRequest.objects.values().get())
    assert check_password(GOOD["password"], pending.password)
    # and once confirmed the account has it and the pending signup no longer does
    link = urlsplit(_confirm_link())
    Client(HTTP_HOST=link.hostname).post(link.path)
    pending.refresh_from_db()
    assert pending.confirmed_at is not None and pending.password == ""
    assert User.objects.get(email=GOOD["email"]).check_password(GOOD["password"])


def test_signup_email_is_stored_lowercased_and_logs_in_case_insensitively(signed_up):
    # given
    signed_up(email="Ana@Initech.TEST")
    # when
    response = client_for(None).post("/login/", {"username": "ANA@initech.test", "password": GOOD["password"]})
    # then
    assert User.objects.get().email == "ana@initech.test"
    assert response.status_code == HTTPStatus.FOUND


def test_signup_does_not_redirect_across_origins_from_the_form_post(signed_up):
    # given our CSP's form-action 'self', under which browsers refuse a 302 from a form's
    # POST to another origin (the workspace host)
    # when
    response = signed_up()
    # then the POST answers with a same-origin page that moves on by itself
    assert response.status_code == HTTPStatus.OK
    assert "form-action 'self'" in response["Content-Security-Policy"]
    assert f'<a href="{handoff_url(response)}">Continue</a>'.encode() in response.content.replace(b"&amp;", b"&")


# An address with an account --------------------------------------------------------------

def _same_page(response, email: str) -> bytes:
    return response.content.replace(email.encode(), b"<email>")


@pytest.mark.parametrize("email", ["taken@acme.test", "TAKEN@ACME.TEST", "Taken@Acme.Test", "  taken@acme.test "])
def test_signup_with_a_taken_email_answers_like_a_new_one_and_tells_only_its_owner(signup, email):
    # given an existing account (an operator's, even)
    UserFactory(email="taken@acme.test", is_staff=True)
    before = row_counts()
    # when someone signs up with its address, and someone else with a new one
    taken = signup(email=email)
    taken_mail = list(mail.outbox)
    mail.outbox.clear()
    fresh = signup(client=client_for(None), email="fresh@acme.test", slug="freshco")
    # then both get the same answer: nothing tells the address has an account
    assert taken.status_code == fresh.status_code == HTTPStatus.OK
    assert _same_page(taken, email.strip()) == _same_page(fresh, "fresh@acme.test")
    assert sorted(taken.headers) == sorted(fresh.headers)
    # and for the taken address nothing was created or changed
    after = row_counts()
    assert after == {**before, "signup_requests": before["signup_requests"] + 1}  # the fresh one's
    assert User.objects.get(email="taken@acme.test").check_password(PASSWORD)
    # and its owner is told, with links to log in and reset the password on the configured site
    [message] = taken_mail
    assert message.to == ["taken@acme.test"]
    assert "tried to sign up" in message.body
    assert f"{settings.SITE_URL_TEMPLATE.format(host=settings.BASE_DOMAIN)}/login/" in message.body
    assert f"{settings.SITE_URL_TEMPLATE.format(host=settings.BASE_DOMAIN)}/password-reset/" in message.body
    assert CONFIRM.search(message.body) is None


def test_signup_confirmed_after_the_address_got_an_account_creates_nothing(signup):
    # given a pending signup, and then an account for the same address (an invitation accepted meanwhile)
    signup()
    link = urlsplit(_confirm_link())
    UserFactory(email=GOOD["email"])
    before = row_counts()
    # when the link is followed
    response = Client(HTTP_HOST=link.hostname).post(link.path)
    # then it says so, and creates nothing
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert form_errors(response) == ["This address already has an account. Log in instead."]
    assert row_counts() == before


# The emailed link ---------------------------------------------------------------------------

def test_signup_link_works_once(signup, signed_up):
    # given a signup confirmed once
    signed_up()
    link = urlsplit(_confirm_link())
    before = row_counts()
    # when the link is used again, in another browser
    again = Client(HTTP_HOST=link.hostname)
    opened, posted = again.get(link.path), again.post(link.path)
    # then it says it was used, and nothing more is created
    for response in (opened, posted):
        assert response.status_code == HTTPStatus.BAD_REQUEST
        assert b"This link has already been used. Log in instead." in response.content
    assert row_counts() == before


def test_signup_link_opened_without_the_button_creates_nothing(signup):
    # given a signup's link (mail scanners open links)
    signup()
    link = urlsplit(_confirm_link())
    before = row_counts()
    # when it is only opened
    Client(HTTP_HOST=link.hostname).get(link.path)
    # then nothing is created, and the person can still use it
    assert row_counts() == before
    assert b"Opening Initech" in Client(HTTP_HOST=link.hostname).post(link.path).content


def test_signup_link_expires(signup):
    # given a signup a day and a minute old
    signup()
    link = urlsplit(_confirm_link())
    SignupRequest.objects.update(expires_at=timezone.now() - timedelta(minutes=1))
    before = row_counts()
    # when it is followed
    response = Client(HTTP_HOST=link.hostname).post(link.path)
    # then it says what to do, and creates nothing
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert b"This link has expired. Sign up again to get a new one." in response.content
    assert row_counts() == before


@pytest.mark.parametrize("token", ["not-a-token", "x" * 43])
def test_signup_link_with_a_garbage_token_is_refused(token):
    # when / then
    response = client_for(None).get(f"/signup/confirm/{token}/")
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert b"This link is not valid." in response.content


def test_signup_address_taken_between_the_form_and_the_link_is_said_on_the_link_page(signup):
    # given a pending signup for initech, and then someone else's workspace at that address
    signup()
    link = urlsplit(_confirm_link())
    workspace_create(name="Other Initech", slug="initech")
    before = row_counts()
    # when the link's button is pressed
    response = Client(HTTP_HOST=link.hostname).post(link.path)
    # then the page says the address is taken and offers to sign up again, and creates nothing
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert form_errors(response)[0] == "The address 'initech' is taken. Choose another."
    assert b'href="/signup/"' in response.content
    assert row_counts() == before
    assert not User.objects.filter(email=GOOD["email"]).exists()


def test_signup_link_of_another_host_is_not_served_there(workspace, signup):
    # given a signup's link
    signup()
    link = urlsplit(_confirm_link())
    # when its path is opened on a workspace's host
    response = client_for(workspace).post(link.path)
    # then that host has no such page
    assert response.status_code == HTTPStatus.NOT_FOUND


# Handoff ------------------------------------------------------------------------------------

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


def test_handoff_token_works_once(signed_up):
    # given a signup's handoff link, already used once
    location = urlsplit(handoff_url(signed_up()))
    Client(HTTP_HOST=location.hostname).get(location.path)
    # when it is replayed in another browser
    replay = Client(HTTP_HOST=location.hostname)
    response = replay.get(location.path, follow=True)
    # then that browser is sent to log in, not signed in
    assert response.redirect_chain[-1][0] == "/login/"
    assert b"That sign-in link has expired" in response.content
    assert not response.wsgi_request.user.is_authenticated


def test_handoff_token_of_one_workspace_does_not_sign_in_on_another(other_workspace, signed_up):
    # given a handoff link for initech, and a workspace the same person has no business in
    location = urlsplit(handoff_url(signed_up()))
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


# Bad input ----------------------------------------------------------------------------------

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
def test_signup_bad_input_is_shown_next_to_the_field_and_creates_nothing(signup, changes, field, message):
    # given
    before = row_counts()
    # when
    response = signup(**changes)
    # then the form comes back with the message next to the offending field
    assert response.status_code == HTTPStatus.BAD_REQUEST
    errors = field_errors(response)
    assert list(errors) == [field]
    assert errors[field][0].startswith(message)
    # and no user, workspace, membership, pending signup or schema was created, and nothing sent
    assert row_counts() == before
    assert mail.outbox == []


def test_signup_bad_input_is_refused_alike_for_a_taken_email(signup):
    # given an existing account
    UserFactory(email="taken@acme.test")
    # when a signup with its address has a weak password
    response = signup(email="taken@acme.test", password="short")
    # then it is refused like anyone's, and its owner is not emailed
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert list(field_errors(response)) == ["password"]
    assert mail.outbox == []


def test_signup_with_a_taken_slug_is_refused_and_creates_nothing(workspace, signup):
    # given acme exists
    before = row_counts()
    # when a new person asks for the same address (in another case)
    response = signup(slug="ACME")
    # then the message is next to the address, and nothing is pending or sent
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert field_errors(response) == {"slug": ["The address 'acme' is taken. Choose another."]}
    assert row_counts() == before
    assert mail.outbox == []


def test_signup_keeps_what_was_typed_except_the_password(signup):
    # when
    response = signup(slug="admin")
    # then the person does not retype everything
    page = response.content.decode()
    assert 'value="ana@initech.test"' in page
    assert 'value="Initech"' in page
    assert GOOD["password"] not in page


def test_signup_page_renders_on_public_host_only(workspace):
    # when / then
    assert client_for(None).get("/signup/").status_code == HTTPStatus.OK
    assert client_for(workspace).get("/signup/").status_code == HTTPStatus.NOT_FOUND


# Throttle -----------------------------------------------------------------------------------

ATTEMPTS = 30


def _assert_throttled(response, rate: str) -> None:
    assert response.status_code == HTTPStatus.TOO_MANY_REQUESTS
    assert 0 < int(response["Retry-After"]) <= _split_rate(rate)[1]
    assert b"Too many attempts" in response.content


def test_signup_is_throttled_per_ip(signup):
    # given one address posting 30 signups, each for another email and workspace
    rate = settings.SIGNUP_RATE_PER_IP
    ip = steady((f"10.30.{n // 250}.{n % 250}" for n in range(500)), rate)
    responses = [signup(client=Client(HTTP_HOST="localhost", REMOTE_ADDR=ip), email=f"bulk{n}@example.test",
                        slug=f"bulk-{n}") for n in range(ATTEMPTS)]
    # then the throttle engages at the configured rate, and the refused ones send nothing
    allowed = rate_limit(rate)
    assert [r.status_code for r in responses] == [HTTPStatus.OK] * allowed + [HTTPStatus.TOO_MANY_REQUESTS] * (
        ATTEMPTS - allowed)
    _assert_throttled(responses[-1], rate)
    assert len(mail.outbox) == allowed
    # and another address can still sign up
    assert signup(client=Client(HTTP_HOST="localhost", REMOTE_ADDR="10.31.0.1")).status_code == HTTPStatus.OK


def test_signup_is_throttled_per_email_across_addresses(signup):
    # given 30 signups for one email, each from another address (someone mail-bombing its owner)
    rate = settings.SIGNUP_RATE_PER_EMAIL
    email = steady((f"target{n}@example.test" for n in range(500)), rate)
    UserFactory(email=email)
    statuses = [signup(client=Client(HTTP_HOST="localhost", REMOTE_ADDR=f"10.32.0.{n}"), email=email).status_code
                for n in range(ATTEMPTS)]
    # then the throttle engages at the configured rate, and the owner got one email per allowed attempt only
    allowed = rate_limit(rate)
    assert statuses == [HTTPStatus.OK] * allowed + [HTTPStatus.TOO_MANY_REQUESTS] * (ATTEMPTS - allowed)
    assert len(mail.outbox) == allowed
