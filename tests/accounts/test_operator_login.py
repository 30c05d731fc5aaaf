"""The operator console's login (/admin/login/): throttled like the dashboard's, every attempt audited.

Found by an outside tester: 30 wrong passwords gave 30 x 200 and no audit event (issue 18, finding 3).
"""

import json
import logging
from http import HTTPStatus

import pytest
from django.conf import settings
from django.test import Client
from django_ratelimit.core import _split_rate

from auditing.models import AuditEvent
from tests.accounts.helpers import rate_limit, steady
from tests.auditing.conftest import events
from tests.factories import PASSWORD, UserFactory

WRONG = "Wrong-Horse-Battery-{n}"
ATTEMPTS = 30


def _console(email: str, password: str, ip: str):
    client = Client(HTTP_HOST="localhost", REMOTE_ADDR=ip)
    return client, client.post("/admin/login/", {"username": email, "password": password, "next": "/admin/"})


def _assert_throttled_console(response, rate: str) -> None:
    assert response.status_code == HTTPStatus.TOO_MANY_REQUESTS
    retry_after = int(response["Retry-After"])
    assert 0 < retry_after <= _split_rate(rate)[1]
    page = response.content.decode()
    # the console's own login form, with the refusal at the top
    assert 'id="login-form"' in page
    assert "Too many attempts" in page and f"({retry_after} seconds)" in page


@pytest.fixture
def operator():
    # An address whose per-email throttle window has a minute left: a test counting its
    # attempts must not see the window roll over halfway (it failed once in a full run).
    email = steady((f"ops-{n}@tollgate.test" for n in range(500)), settings.LOGIN_RATE_PER_EMAIL)
    return UserFactory(email=email, is_staff=True, is_superuser=True)


def test_operator_login_is_throttled_per_ip_at_the_configured_rate(operator):
    # given one address trying 30 wrong passwords on the console, each for another account
    rate = settings.LOGIN_RATE_PER_IP
    ip = steady((f"10.20.{n // 250}.{n % 250}" for n in range(500)), rate)
    statuses = [_console(f"guess{n}@example.test", WRONG.format(n=n), ip)[1].status_code for n in range(ATTEMPTS)]
    # then the first ones are refused as wrong, and from the configured count on they are throttled
    allowed = rate_limit(rate)
    assert statuses == [HTTPStatus.BAD_REQUEST] * allowed + [HTTPStatus.TOO_MANY_REQUESTS] * (ATTEMPTS - allowed)
    # when the operator's right password comes from that address
    client, response = _console(operator.email, PASSWORD, ip)
    # then it is refused too, on the console's form, and nobody is signed in
    _assert_throttled_console(response, rate)
    assert "_auth_user_id" not in client.session
    # and the operator can still sign in from another address
    _, fine = _console(operator.email, PASSWORD, "10.21.0.1")
    assert (fine.status_code, fine["Location"]) == (HTTPStatus.FOUND, "/admin/")


def test_operator_login_is_throttled_per_email_across_addresses(operator):
    # given 30 wrong passwords for the operator's account, each from another address
    rate = settings.LOGIN_RATE_PER_EMAIL
    email = steady((f"ops{n}@tollgate.test" for n in range(500)), rate)
    operator.email = email
    operator.save()
    statuses = [_console(email, WRONG.format(n=n), f"10.22.0.{n}")[1].status_code for n in range(ATTEMPTS)]
    # then the throttle engages at the configured rate
    allowed = rate_limit(rate)
    assert statuses == [HTTPStatus.BAD_REQUEST] * allowed + [HTTPStatus.TOO_MANY_REQUESTS] * (ATTEMPTS - allowed)
    # and the right password, from a fresh address, is refused while it lasts
    client, response = _console(email, PASSWORD, "10.22.1.1")
    _assert_throttled_console(response, rate)
    assert "_auth_user_id" not in client.session


def test_operator_login_shares_its_counts_with_the_dashboard_login(operator):
    # given the operator's email used up on the dashboard's login form
    rate = settings.LOGIN_RATE_PER_EMAIL
    email = steady((f"shared{n}@tollgate.test" for n in range(500)), rate)
    operator.email = email
    operator.save()
    for n in range(rate_limit(rate)):
        Client(HTTP_HOST="localhost", REMOTE_ADDR=f"10.23.0.{n}").post("/login/", {"username": email, "password": "x"})
    # when the console is tried next
    _, response = _console(email, PASSWORD, "10.23.1.1")
    # then it is throttled as well: two forms do not mean twice the attempts
    assert response.status_code == HTTPStatus.TOO_MANY_REQUESTS


def test_operator_login_writes_one_platform_event_per_attempt(operator, workspace):
    # given a few wrong passwords, one throttled attempt's worth of room, then the right one
    rate = settings.LOGIN_RATE_PER_EMAIL
    tries = rate_limit(rate) - 1
    for n in range(tries):
        _console(operator.email, WRONG.format(n=n), f"10.24.0.{n}")
    client, response = _console(operator.email, PASSWORD, "10.24.1.1")
    assert response.status_code == HTTPStatus.FOUND
    # then each failure is one login_failed and the success one login, all in the platform's log
    failed = events(None, action="login_failed")
    assert [(e.outcome, e.details) for e in failed] == [
        ("failure", {"email": operator.email, "via": "operator_console"})] * tries
    [login] = events(None, action="login")
    assert (login.actor_type, login.actor_id, login.actor_label) == ("operator", str(operator.pk), operator.email)
    assert login.details == {"via": "operator_console"}
    assert login.ip == "10.24.1.1"
    # and nothing of it went to any workspace's log
    assert events(workspace) == []
    # and the console opens for the signed-in operator
    assert client.get("/admin/").status_code == HTTPStatus.OK


def test_operator_login_throttled_attempts_are_recorded_too(operator):
    # given the operator's email at its limit
    rate = settings.LOGIN_RATE_PER_EMAIL
    email = steady((f"noisy{n}@tollgate.test" for n in range(500)), rate)
    for n in range(rate_limit(rate) + 2):
        _console(email, WRONG.format(n=n), f"10.25.0.{n}")
    # then every attempt is one event: the refused ones say they were throttled
    outcomes = [e.outcome for e in events(None, action="login_failed")]
    assert outcomes == ["failure"] * rate_limit(rate) + ["throttled"] * 2


def test_operator_login_with_the_right_password_of_a_non_operator_is_refused(workspace):
    # given a workspace member (not staff)
    user = UserFactory(email="member@acme.test")
    # when they try the console with their right password
    client, response = _console(user.email, PASSWORD, "10.26.0.1")
    # then it is refused like a wrong password, and only the platform's log says why
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "Please enter the correct email and password for a staff account" in response.content.decode()
    assert "_auth_user_id" not in client.session
    [failed] = events(None, action="login_failed")
    assert failed.details == {"email": user.email, "via": "operator_console", "reason": "not_staff"}


def test_operator_login_never_stores_or_logs_a_password(operator, caplog):
    # given everything logged, at every level
    caplog.set_level(logging.DEBUG)
    rate = settings.LOGIN_RATE_PER_EMAIL
    passwords = [WRONG.format(n=n) for n in range(rate_limit(rate) + 2)]
    # when wrong passwords (some throttled) and then the right one are tried
    for n, password in enumerate(passwords):
        _console(operator.email, password, f"10.27.0.{n}")
    _console(operator.email, PASSWORD, "10.27.1.1")  # throttled by now: one more failure
    # then no password is in any audit event, nor in any log line
    stored = json.dumps([list(row) for row in AuditEvent.objects.values_list()], default=str)
    logged = "\n".join(record.getMessage() + repr(record.__dict__) for record in caplog.records)
    for password in [*passwords, PASSWORD]:
        assert password not in stored
        assert password not in logged
    assert len(events(None, action="login_failed")) == len(passwords) + 1
