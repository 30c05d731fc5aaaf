"""Who may call the platform API: operator tokens only, with the scope, from an allowed address."""

from http import HTTPStatus

import pytest
from django.conf import settings

from auditing.models import AuditEvent
from operators.services import operator_token_revoke
from tests.accounts.helpers import rate_limit, steady
from tests.apikeys.conftest import problem_of
from tests.operators.conftest import bearer


def test_a_workspace_key_is_refused_with_401(platform, api_key, admin_key):
    # given workspace keys, even an admin one
    for _, text in (api_key, admin_key):
        # when one is used on the platform API
        response = platform("get", "workspaces", text)
        # then
        assert response.status_code == HTTPStatus.UNAUTHORIZED
        assert problem_of(response)["code"] == "invalid_operator_token"
        assert response["WWW-Authenticate"].startswith("Bearer")


def test_no_credentials_and_x_api_key_are_refused(platform, token, api_key):
    assert problem_of(platform("get", "workspaces"))["code"] == "invalid_operator_token"
    # an operator token in X-API-Key (the workspace API's other header) is not read here
    response = platform("get", "workspaces", HTTP_X_API_KEY=token[1])
    assert response.status_code == HTTPStatus.UNAUTHORIZED


def test_an_operator_token_is_refused_by_the_workspace_api(api_client, token):
    response = api_client.get("/api/v1/info", **bearer(token[1]))
    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert response.json()["code"] == "invalid_api_key"


def test_a_wrong_secret_is_the_same_401_as_an_unknown_token(platform, token):
    row, text = token
    wrong = text[:-4] + ("aaaa" if not text.endswith("aaaa") else "bbbb")
    unknown = text.replace(row.token_id, "zzzzzzzzzzzz")
    bodies = [problem_of(platform("get", "workspaces", t)) for t in (wrong, unknown)]
    assert [b["code"] for b in bodies] == ["invalid_operator_token"] * 2
    assert bodies[0]["detail"] == bodies[1]["detail"]


def test_a_token_without_the_scope_is_refused_with_403(platform, make_token):
    # given a token that may read workspaces only
    _, text = make_token(scopes=["workspaces:read"])
    # when it tries to create one
    response = platform("post", "workspaces", text, {"slug": "newco", "name": "NewCo", "owner_email": "a@newco.test"})
    # then
    assert response.status_code == HTTPStatus.FORBIDDEN
    body = problem_of(response)
    assert body["code"] == "insufficient_scope" and body["required_scope"] == "workspaces:write"
    # and what it may do, it does
    assert platform("get", "workspaces", text).status_code == HTTPStatus.OK


def test_the_ip_allowlist_refuses_other_addresses(platform, make_token):
    # given a token allowed from 10.0.0.0/8 only
    row, text = make_token(allowed_ips=["10.0.0.0/8"])
    # when it is used from elsewhere, then from inside the range
    outside = platform("get", "workspaces", text, REMOTE_ADDR="192.0.2.7")
    inside = platform("get", "workspaces", text, REMOTE_ADDR="10.20.30.40")
    # then
    assert outside.status_code == HTTPStatus.FORBIDDEN
    assert problem_of(outside)["code"] == "ip_not_allowed"
    assert inside.status_code == HTTPStatus.OK
    refused = AuditEvent.objects.filter(action="operator_api_call", outcome="failure").get()
    assert refused.details["refused"] == "ip_not_allowed" and row.prefix in refused.actor_label


def test_a_revoked_or_expired_token_is_refused(platform, token, make_token):
    from datetime import timedelta

    from django.utils import timezone

    row, text = token
    operator_token_revoke(token=row)
    assert problem_of(platform("get", "workspaces", text))["code"] == "operator_token_inactive"
    expiring, text2 = make_token(expires_at=timezone.now() + timedelta(seconds=30))
    type(expiring).objects.filter(pk=expiring.pk).update(expires_at=timezone.now() - timedelta(seconds=1))
    assert problem_of(platform("get", "workspaces", text2))["code"] == "operator_token_inactive"


@pytest.fixture
def steady_address():
    rate = settings.OPERATOR_AUTH_FAILURES
    return steady([f"198.51.100.{n}" for n in range(1, 255)], rate)


def test_failed_attempts_are_throttled_per_address(platform, token, steady_address):
    # given an address that failed as often as the rate allows
    limit = rate_limit(settings.OPERATOR_AUTH_FAILURES)
    bad = token[1][:-4] + ("aaaa" if not token[1].endswith("aaaa") else "bbbb")
    for _ in range(limit):
        assert platform("get", "workspaces", bad, REMOTE_ADDR=steady_address).status_code == HTTPStatus.UNAUTHORIZED
    # when it tries again, even with the right token
    response = platform("get", "workspaces", token[1], REMOTE_ADDR=steady_address)
    # then it must wait; another address is not affected
    assert response.status_code == HTTPStatus.TOO_MANY_REQUESTS
    assert problem_of(response)["code"] == "too_many_failed_attempts"
    assert 0 < int(response["Retry-After"]) <= 300
    assert platform("get", "workspaces", token[1], REMOTE_ADDR="203.0.113.9").status_code == HTTPStatus.OK


def test_good_calls_are_never_throttled(platform, token, steady_address):
    limit = rate_limit(settings.OPERATOR_AUTH_FAILURES)
    for _ in range(limit + 2):
        assert platform("get", "workspaces", token[1], REMOTE_ADDR=steady_address).status_code == HTTPStatus.OK


def test_create_operator_token_prints_the_token_once_and_it_works(platform):
    from io import StringIO

    from django.core.management import call_command

    from operators.models import OperatorToken

    out, err = StringIO(), StringIO()
    call_command("create_operator_token", "--name", "ci", "--scopes", "workspaces:read", "--allow-ip", "127.0.0.1/32",
                 stdout=out, stderr=err)
    text = out.getvalue().strip()
    row = OperatorToken.objects.get()
    assert text.startswith(f"tg_op_{row.token_id}_") and text not in err.getvalue()
    assert row.digest != text.split("_")[-1] and len(row.digest) == 64
    assert row.scopes == ["workspaces:read"] and row.allowed_ips == ["127.0.0.1/32"]
    assert platform("get", "workspaces", text).status_code == HTTPStatus.OK
    created = AuditEvent.objects.get(action="operator_token_created")
    assert created.details["token"] == row.prefix and text not in str(created.details)


def test_create_operator_token_refuses_unknown_scopes_and_bad_cidrs():
    from django.core.management import CommandError, call_command

    with pytest.raises(CommandError, match="Unknown scope"):
        call_command("create_operator_token", "--name", "x", "--scopes", "everything")
    with pytest.raises(CommandError, match="not an IP address"):
        call_command("create_operator_token", "--name", "x", "--scopes", "workspaces:read", "--allow-ip", "10.0.0/33")
