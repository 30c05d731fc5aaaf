"""ApiKeyAuthentication: every way in, and every refusal code of issue 3."""

import time
from datetime import timedelta
from http import HTTPStatus

import pytest
from django.utils import timezone
from rest_framework.test import APIClient

from apikeys import keys
from apikeys.services import apikey_revoke
from tenants.services import workspace_set_status
from tests.apikeys.conftest import bearer, problem_of
from tests.conftest import host_of

INFO = "/api/v1/info"


# Credentials ---------------------------------------------------------------------------

def test_bearer_key_authenticates_and_names_its_workspace(api_client, api_key, workspace):
    # given
    row, text = api_key
    # when
    response = api_client.get(INFO, **bearer(text))
    # then
    assert response.status_code == HTTPStatus.OK
    body = response.json()
    assert body["workspace"]["slug"] == workspace.slug
    assert body["key"]["id"] == row.key_id
    assert body["key"]["scopes"] == ["read", "write"]
    assert text not in response.content.decode()


def test_x_api_key_header_authenticates(api_client, api_key):
    # given
    _, text = api_key
    # when
    response = api_client.get(INFO, HTTP_X_API_KEY=text)
    # then
    assert response.status_code == HTTPStatus.OK


def test_missing_credentials_is_401_with_www_authenticate(api_client):
    # given no credentials
    # when
    response = api_client.get(INFO)
    # then
    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert response["WWW-Authenticate"].startswith("Bearer")
    assert problem_of(response)["code"] == "authentication_required"


def test_empty_bearer_is_invalid_api_key(api_client):
    # given a Bearer header with nothing after it
    # when
    response = api_client.get(INFO, HTTP_AUTHORIZATION="Bearer ")
    # then
    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert problem_of(response)["code"] == "invalid_api_key"
    assert "WWW-Authenticate" in response


@pytest.mark.parametrize(
    "text",
    [
        "not-a-key",
        "tg_live_abc_def",
        "tg_prod_abcdefghijkl_" + "a" * 43,  # unknown environment
        "tg_live_abcdefghijkl_" + "a" * 42,  # secret one short
        "tg_live_abcdefghijk!_" + "a" * 43,  # id not alphanumeric
        "tg_live_abcdefghijkl_" + "a" * 42 + "é",  # non-ASCII secret
        "tg_live_abcdefghijkl_" + "a" * 400,  # absurdly long
    ],
)
def test_malformed_key_is_invalid_api_key(api_client, text):
    # when
    response = api_client.get(INFO, **bearer(text))
    # then
    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert problem_of(response)["code"] == "invalid_api_key"
    assert response["WWW-Authenticate"].startswith("Bearer")


def _comparable(response) -> tuple:
    body = problem_of(response)
    body.pop("request_id")
    headers = sorted((k, v) for k, v in response.headers.items() if k not in ("X-Request-ID", "Content-Length"))
    return response.status_code, body, headers


def test_unknown_id_and_wrong_secret_are_indistinguishable(api_client, api_key):
    # given a key that exists, the same id with another secret, and an id that does not exist
    row, text = api_key
    _, other_secret, _ = keys.generate()
    wrong_secret = keys.render(row.environment, row.key_id, other_secret)
    unknown_id = keys.render(row.environment, "zzzzzzzzzzzz", text.rsplit("_", 1)[1])
    # when
    wrong = api_client.get(INFO, **bearer(wrong_secret))
    unknown = api_client.get(INFO, **bearer(unknown_id))
    # then both are the same invalid_api_key, byte for byte apart from the request id
    assert wrong.status_code == HTTPStatus.UNAUTHORIZED
    assert problem_of(wrong)["code"] == "invalid_api_key"
    assert _comparable(wrong) == _comparable(unknown)


def test_key_with_its_environment_swapped_is_invalid(api_client, api_key):
    # given a live key presented as a test key
    _, text = api_key
    swapped = text.replace("tg_live_", "tg_test_", 1)
    # when
    response = api_client.get(INFO, **bearer(swapped))
    # then
    assert problem_of(response)["code"] == "invalid_api_key"


def test_test_mode_key_authenticates(api_client, make_key):
    # given
    row, text = make_key(environment="test")
    # when
    response = api_client.get(INFO, **bearer(text))
    # then
    assert text.startswith("tg_test_")
    assert response.status_code == HTTPStatus.OK
    assert response.json()["key"]["environment"] == "test"


# Revoked, expired --------------------------------------------------------------------------

def test_revoked_key_is_api_key_revoked(api_client, api_key, owner, committed):
    # given a key that worked, then was revoked
    row, text = api_key
    assert api_client.get(INFO, **bearer(text)).status_code == HTTPStatus.OK
    with committed():
        apikey_revoke(key=row, actor=owner)
    # when
    response = api_client.get(INFO, **bearer(text))
    # then
    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert problem_of(response)["code"] == "api_key_revoked"
    assert response["WWW-Authenticate"].startswith("Bearer")


def test_revoked_key_with_wrong_secret_does_not_reveal_revocation(api_client, api_key, owner):
    # given a revoked key, presented with a secret that is not its own
    row, _ = api_key
    apikey_revoke(key=row, actor=owner)
    _, other_secret, _ = keys.generate()
    # when
    response = api_client.get(INFO, **bearer(keys.render(row.environment, row.key_id, other_secret)))
    # then
    assert problem_of(response)["code"] == "invalid_api_key"


def test_key_expires_at_its_expiry_without_any_message(api_client, make_key):
    # given a key expiring in a moment, already cached by a successful request
    row, text = make_key(expires_at=timezone.now() + timedelta(seconds=1))
    assert api_client.get(INFO, **bearer(text)).status_code == HTTPStatus.OK
    # when its expiry passes
    time.sleep(max(0.0, (row.expires_at - timezone.now()).total_seconds()) + 0.05)
    response = api_client.get(INFO, **bearer(text))
    # then the cached entry is refused on its own expiry
    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert problem_of(response)["code"] == "api_key_expired"


def test_key_with_future_expiry_works_and_reports_it(api_client, make_key):
    # given
    expires = timezone.now() + timedelta(days=30)
    _, text = make_key(expires_at=expires)
    # when
    response = api_client.get(INFO, **bearer(text))
    # then
    assert response.status_code == HTTPStatus.OK
    assert response.json()["key"]["expires_at"] == expires.isoformat()


# Workspaces ------------------------------------------------------------------------------

def test_suspended_workspace_key_is_workspace_suspended(api_client, api_key, workspace, committed):
    # given a key that worked, then its workspace was suspended
    _, text = api_key
    assert api_client.get(INFO, **bearer(text)).status_code == HTTPStatus.OK
    with committed():
        workspace_set_status(workspace=workspace, status="suspended")
    # when
    response = api_client.get(INFO, **bearer(text))
    # then
    assert response.status_code == HTTPStatus.FORBIDDEN
    assert problem_of(response)["code"] == "workspace_suspended"


def test_reactivated_workspace_key_works_again(api_client, api_key, workspace, committed):
    # given
    _, text = api_key
    with committed():
        workspace_set_status(workspace=workspace, status="suspended")
    assert api_client.get(INFO, **bearer(text)).status_code == HTTPStatus.FORBIDDEN
    # when
    with committed():
        workspace_set_status(workspace=workspace, status="active")
    # then
    assert api_client.get(INFO, **bearer(text)).status_code == HTTPStatus.OK


def test_key_on_its_own_workspace_host_works(api_key, workspace):
    # given
    _, text = api_key
    client = APIClient(HTTP_HOST=host_of(workspace))
    # when
    response = client.get(INFO, **bearer(text))
    # then
    assert response.status_code == HTTPStatus.OK


def test_key_on_another_workspace_host_is_tenant_mismatch(api_key, other_workspace):
    # given acme's key sent to globex's host
    _, text = api_key
    client = APIClient(HTTP_HOST=host_of(other_workspace))
    # when
    response = client.get(INFO, **bearer(text))
    # then
    assert response.status_code == HTTPStatus.FORBIDDEN
    assert problem_of(response)["code"] == "tenant_mismatch"


def test_x_tenant_id_naming_another_workspace_is_tenant_mismatch(api_client, api_key, other_workspace):
    # given
    _, text = api_key
    # when
    by_slug = api_client.get(INFO, HTTP_X_TENANT_ID=other_workspace.slug, **bearer(text))
    by_pk = api_client.get(INFO, HTTP_X_TENANT_ID=str(other_workspace.pk), **bearer(text))
    # then
    for response in (by_slug, by_pk):
        assert response.status_code == HTTPStatus.FORBIDDEN
        assert problem_of(response)["code"] == "tenant_mismatch"


def test_x_tenant_id_naming_the_keys_own_workspace_is_accepted(api_client, api_key, workspace):
    # given
    _, text = api_key
    # when
    by_slug = api_client.get(INFO, HTTP_X_TENANT_ID=workspace.slug, **bearer(text))
    by_pk = api_client.get(INFO, HTTP_X_TENANT_ID=str(workspace.pk), **bearer(text))
    # then
    assert by_slug.status_code == HTTPStatus.OK
    assert by_pk.status_code == HTTPStatus.OK


# IP allowlist ----------------------------------------------------------------------------

@pytest.mark.parametrize(
    ("allowed", "address", "admitted"),
    [
        (["203.0.113.0/24"], "203.0.113.7", True),
        (["203.0.113.0/24"], "203.0.114.7", False),
        (["203.0.113.0/24"], "::ffff:203.0.113.7", True),  # IPv4-mapped IPv6 of an allowed address
        (["203.0.113.0/24"], "::ffff:198.51.100.1", False),
        (["203.0.113.0/24"], "2001:db8::1", False),
        (["198.51.100.10"], "198.51.100.10", True),  # a bare address is a /32
        (["198.51.100.10"], "198.51.100.11", False),
        (["2001:db8::/32"], "2001:db8:1::5", True),
        (["2001:db8::/32"], "2001:db9::5", False),
        (["2001:db8::/32"], "203.0.113.7", False),
        (["2001:db8::1"], "2001:db8::1", True),  # a bare IPv6 address is a /128
        (["2001:DB8::/32"], "2001:db8::abcd", True),  # upper case in the list
        (["::ffff:203.0.113.0/120"], "203.0.113.9", True),  # a mapped range admits the plain IPv4 form
        (["::ffff:203.0.113.0/120"], "::ffff:203.0.113.9", True),
        (["::ffff:203.0.113.0/120"], "203.0.114.9", False),
        (["203.0.113.0/24", "2001:db8::/32"], "2001:db8::7", True),
        (["203.0.113.0/24", "2001:db8::/32"], "203.0.113.200", True),
        (["203.0.113.0/24", "2001:db8::/32"], "192.0.2.1", False),
        (["203.0.113.0/24"], "not-an-address", False),
    ],
)
def test_ip_allowlist(api_client, make_key, allowed, address, admitted):
    # given a key restricted to `allowed`
    _, text = make_key(allowed_ips=allowed)
    # when a request comes from `address`
    response = api_client.get(INFO, REMOTE_ADDR=address, **bearer(text))
    # then
    if admitted:
        assert response.status_code == HTTPStatus.OK
    else:
        assert response.status_code == HTTPStatus.FORBIDDEN
        assert problem_of(response)["code"] == "ip_not_allowed"


def test_key_without_allowlist_is_admitted_from_anywhere(api_client, api_key):
    # given
    _, text = api_key
    # when / then
    for address in ("192.0.2.1", "2001:db8::1", "::ffff:192.0.2.1"):
        assert api_client.get(INFO, REMOTE_ADDR=address, **bearer(text)).status_code == HTTPStatus.OK


def test_ip_check_comes_after_the_secret(api_client, make_key):
    # given a restricted key presented with a wrong secret from a refused address
    row, _ = make_key(allowed_ips=["203.0.113.0/24"])
    _, other_secret, _ = keys.generate()
    # when
    response = api_client.get(INFO, REMOTE_ADDR="192.0.2.1",
                              **bearer(keys.render(row.environment, row.key_id, other_secret)))
    # then the caller learns nothing about the key's allowlist
    assert problem_of(response)["code"] == "invalid_api_key"


def test_x_api_key_works_beside_a_proxys_basic_authorization(api_key, api_client):
    # given a proxy that adds Basic credentials of its own
    response = api_client.get("/api/v1/info", HTTP_AUTHORIZATION="Basic cHJveHk6c2VjcmV0", HTTP_X_API_KEY=api_key[1])
    # then the key in X-API-Key is still the credential
    assert response.status_code == 200
    assert response.json()["key"]["id"] == api_key[0].key_id


# Settings read once on the request path ------------------------------------------------

def test_a_changed_pepper_is_used_at_once_and_old_digests_stop_matching(api_client, api_key, settings):
    # given a key that works with the pepper it was made under
    _, text = api_key
    secret = keys.parse(text).secret
    before = keys.digest(secret)
    assert api_client.get(INFO, **bearer(text)).status_code == HTTPStatus.OK
    # when the pepper changes (the digest's keyed HMAC is made once and kept)
    settings.API_KEY_PEPPER = "another-pepper-" + "p" * 40
    # then the digest is the new pepper's, and the stored one no longer matches
    assert keys.digest(secret) != before
    assert not keys.matches(secret, before)
    settings.API_KEY_PEPPER = settings.SECRET_KEY
    assert keys.digest(secret) == before
