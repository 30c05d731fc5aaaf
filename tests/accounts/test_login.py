"""Login, logout and password reset: throttled per IP and per email, with a 429 page that says when to retry."""

import re
from http import HTTPStatus
from urllib.parse import urlsplit

from django.conf import settings
from django.core import mail
from django.test import Client
from django_ratelimit.core import _split_rate

from accounts.models import Membership
from accounts.permissions import Role
from tests.accounts.helpers import field_errors, form_errors, rate_limit, steady
from tests.conftest import add_member, client_for
from tests.factories import PASSWORD, UserFactory

WRONG = "not the password"
NEW_PASSWORD = "a brand new passphrase 7"


def _login(email, password, ip="127.0.0.1", host="localhost"):
    client = Client(HTTP_HOST=host, REMOTE_ADDR=ip)
    return client, client.post("/login/", {"username": email, "password": password})


def _assert_throttled(response, rate: str):
    assert response.status_code == HTTPStatus.TOO_MANY_REQUESTS
    retry_after = int(response["Retry-After"])
    assert 0 < retry_after <= _split_rate(rate)[1]
    page = response.content.decode()
    assert "Too many attempts" in page
    minutes = max(1, round(retry_after / 60))
    assert f"Try again in {minutes} minute" in page
    assert f"({retry_after} seconds)" in page


def test_login_is_throttled_per_email_from_any_ip_even_with_the_right_password():
    # given an account, and as many wrong passwords for it as allowed, each from another address
    rate = settings.LOGIN_RATE_PER_EMAIL
    email = steady((f"victim{n}@example.test" for n in range(500)), rate)
    UserFactory(email=email)
    for n in range(rate_limit(rate)):
        _, response = _login(email.upper() if n % 2 else email, WRONG, ip=f"10.1.0.{n}")
        assert response.status_code == HTTPStatus.BAD_REQUEST
    # when the right password comes next, from yet another address
    client, response = _login(email, PASSWORD, ip="10.1.1.1")
    # then it is refused too, with a page saying when to retry
    _assert_throttled(response, rate)
    assert "_auth_user_id" not in client.session
    # and another account logging in from the same address is not affected
    other = UserFactory()
    _, fine = _login(other.email, PASSWORD, ip="10.1.1.1")
    assert fine.status_code == HTTPStatus.FOUND


def test_login_is_throttled_per_ip_across_emails():
    # given one address trying many accounts, up to the limit
    rate = settings.LOGIN_RATE_PER_IP
    ip = steady((f"10.2.{n // 250}.{n % 250}" for n in range(500)), rate)
    user = UserFactory()
    for n in range(rate_limit(rate)):
        _, response = _login(f"guess{n}@example.test", WRONG, ip=ip)
        assert response.status_code == HTTPStatus.BAD_REQUEST
    # when it tries a real account with the right password
    client, response = _login(user.email, PASSWORD, ip=ip)
    # then it is refused
    _assert_throttled(response, rate)
    assert "_auth_user_id" not in client.session
    # and the same account can still log in from another address
    _, fine = _login(user.email, PASSWORD, ip="10.3.0.1")
    assert fine.status_code == HTTPStatus.FOUND


def test_login_throttle_counts_only_posts():
    # given an email at its limit
    rate = settings.LOGIN_RATE_PER_EMAIL
    email = steady((f"reader{n}@example.test" for n in range(500)), rate)
    for n in range(rate_limit(rate)):
        _login(email, WRONG, ip=f"10.4.0.{n}")
    # when / then the page itself still opens
    assert Client(HTTP_HOST="localhost").get("/login/").status_code == HTTPStatus.OK


def test_login_on_workspace_host_is_throttled_too(workspace):
    # given a member whose email used up its attempts on acme's host
    rate = settings.LOGIN_RATE_PER_EMAIL
    email = steady((f"member{n}@acme.test" for n in range(500)), rate)
    add_member(workspace, Role.MEMBER, email=email)
    for n in range(rate_limit(rate)):
        _login(email, WRONG, ip=f"10.5.0.{n}", host="acme.localhost")
    # when
    _, response = _login(email, PASSWORD, ip="10.5.1.1", host="acme.localhost")
    # then
    _assert_throttled(response, rate)


def test_login_on_workspace_host_signs_in_members_only(workspace, owner, member):
    # given a member, a suspended member and someone from elsewhere
    suspended = add_member(workspace, Role.MEMBER, email="suspended@acme.test", status=Membership.Status.SUSPENDED)
    stranger = UserFactory(email="stranger@example.test")
    # when each logs in on acme's host
    _, ok = _login(member.email, PASSWORD, host="acme.localhost")
    refused = [_login(user.email, PASSWORD, ip=f"10.6.0.{n}", host="acme.localhost")[1]
               for n, user in enumerate((suspended, stranger))]
    # then the member lands on the dashboard, the others get the same words as a wrong password
    assert (ok.status_code, ok["Location"]) == (HTTPStatus.FOUND, "/")
    for response in refused:
        assert response.status_code == HTTPStatus.BAD_REQUEST
        assert form_errors(response)[0].startswith("Please enter a correct email and password.")


def test_login_on_public_host_goes_to_the_workspace_list(workspace, owner):
    # when
    client, response = _login("OWNER@acme.test", PASSWORD)
    # then
    assert response["Location"] == "/workspaces/"
    page = client.get("/workspaces/")
    assert b"Acme" in page.content
    assert b'action="/go/acme/"' in page.content


def test_login_with_wrong_password_or_empty_fields_says_so_next_to_the_form(owner):
    # when / then a wrong password is one message above the form
    _, wrong = _login("owner@acme.test", WRONG)
    assert wrong.status_code == HTTPStatus.BAD_REQUEST
    assert form_errors(wrong)[0].startswith("Please enter a correct email and password.")
    # when / then empty fields are flagged where they are
    _, empty = _login("", "")
    assert field_errors(empty) == {"username": ["This field is required."], "password": ["This field is required."]}


def test_logout_requires_post(workspace, owner):
    # given a signed-in owner
    client = client_for(workspace, owner)
    # when a GET hits the logout address (a link, an <img>, a prefetch)
    response = client.get("/logout/")
    # then nothing happens
    assert response.status_code == HTTPStatus.METHOD_NOT_ALLOWED
    assert client.get("/").status_code == HTTPStatus.OK
    # and a POST logs out
    out = client.post("/logout/", follow=True)
    assert out.redirect_chain[-1][0] == "/login/"
    assert b"You have been logged out." in out.content
    assert client.get("/").status_code == HTTPStatus.FOUND


def _reset_link() -> tuple[str, str]:
    assert len(mail.outbox) == 1
    link = re.search(r"https?://\S+/password-reset/\S+/\S+/", mail.outbox[0].body).group(0)
    parts = urlsplit(link)
    return parts.hostname, parts.path


def test_password_reset_end_to_end_link_works_once(workspace, member):
    # given a member who forgot their password and asks on acme's host
    client = client_for(workspace)
    asked = client.post("/password-reset/", {"email": "Member@Acme.test"})
    assert asked["Location"] == "/password-reset/sent/"
    host, path = _reset_link()
    assert mail.outbox[0].to == ["member@acme.test"]
    assert mail.outbox[0].subject == "Reset your Tollgate password"
    assert host == settings.BASE_DOMAIN  # the configured public site, whichever host it was asked on
    # when they follow the emailed link and choose a new password
    browser = Client(HTTP_HOST=host)
    form = browser.get(path, follow=True)
    assert b"Choose a new password" in form.content and b"Set password" in form.content
    done = browser.post(form.redirect_chain[-1][0], {"new_password1": NEW_PASSWORD, "new_password2": NEW_PASSWORD})
    # then the new password works and the old one doesn't
    assert done["Location"] == "/password-reset/done/"
    assert _login("member@acme.test", NEW_PASSWORD, host="acme.localhost")[1].status_code == HTTPStatus.FOUND
    assert _login("member@acme.test", PASSWORD, host="acme.localhost")[1].status_code == HTTPStatus.BAD_REQUEST
    # and the link does not work a second time
    again = Client(HTTP_HOST=host).get(path, follow=True)
    assert b"This reset link is invalid or has already been used." in again.content
    assert b"Set password" not in again.content


def test_password_reset_weak_new_password_is_refused_next_to_the_field(member):
    # given
    client_for(None).post("/password-reset/", {"email": "member@acme.test"})
    host, path = _reset_link()
    browser = Client(HTTP_HOST=host)
    form = browser.get(path, follow=True)
    # when
    response = browser.post(form.redirect_chain[-1][0], {"new_password1": "short", "new_password2": "short"})
    # then
    assert response.status_code == HTTPStatus.OK  # Django's confirm view re-renders the form
    assert "new_password2" in field_errors(response)
    assert "too short" in field_errors(response)["new_password2"][0]
    member.refresh_from_db()
    assert member.check_password(PASSWORD)


def test_password_reset_for_unknown_email_looks_the_same_and_sends_nothing():
    # when someone asks for an address no account has
    response = client_for(None).post("/password-reset/", {"email": "nobody@example.test"})
    # then the answer does not tell, and no email goes out
    assert response["Location"] == "/password-reset/sent/"
    assert mail.outbox == []


def test_password_reset_is_throttled_per_email_and_per_ip(member):
    rate = settings.PASSWORD_RESET_RATE
    # given as many reset requests for one address as allowed, from several addresses
    email = steady((f"forgetful{n}@example.test" for n in range(500)), rate)
    UserFactory(email=email)
    for n in range(rate_limit(rate)):
        response = Client(HTTP_HOST="localhost", REMOTE_ADDR=f"10.7.0.{n}").post("/password-reset/", {"email": email})
        assert response.status_code == HTTPStatus.FOUND
    sent = len(mail.outbox)
    # when one more comes, from a new address
    response = Client(HTTP_HOST="localhost", REMOTE_ADDR="10.7.1.1").post("/password-reset/", {"email": email})
    # then it is refused and sends nothing
    _assert_throttled(response, rate)
    assert len(mail.outbox) == sent
    # and one address asking for many accounts is refused too
    ip = steady((f"10.8.{n // 250}.{n % 250}" for n in range(500)), rate)
    for n in range(rate_limit(rate)):
        Client(HTTP_HOST="localhost", REMOTE_ADDR=ip).post("/password-reset/", {"email": f"someone{n}@example.test"})
    response = Client(HTTP_HOST="localhost", REMOTE_ADDR=ip).post("/password-reset/", {"email": member.email})
    _assert_throttled(response, rate)
    assert len(mail.outbox) == sent


def test_login_throttle_keeps_counting_in_process_while_redis_fails(settings, monkeypatch, caplog):
    # given Django's cache on a Redis that refuses connections, and a clock that stands still
    # (the in-process windows are aligned on it)
    settings.CACHES = {"default": {"BACKEND": "django.core.cache.backends.redis.RedisCache",
                                   "LOCATION": "redis://127.0.0.1:1/0", "KEY_PREFIX": "tg"}}
    from accounts import throttle

    monkeypatch.setattr(throttle, "_local", {})
    monkeypatch.setattr(throttle, "_clock", lambda: 1_800_000_000.0)
    rate = settings.LOGIN_RATE_PER_IP
    user = UserFactory()
    # when one address sends as many wrong passwords as allowed, then the right one
    for n in range(rate_limit(rate)):
        _, response = _login(f"guess{n}@example.test", WRONG, ip="10.9.0.1")
        assert response.status_code == HTTPStatus.BAD_REQUEST
    _, refused = _login(user.email, PASSWORD, ip="10.9.0.1")
    # then no 500: the throttle still engages, counted in this process, and says why in the log
    _assert_throttled(refused, rate)
    assert "throttle counted in this process" in caplog.text
    # and another address is counted apart (sessions still need Redis to log in: cached_db)
    _, other = _login(user.email, WRONG, ip="10.9.0.2")
    assert other.status_code == HTTPStatus.BAD_REQUEST
