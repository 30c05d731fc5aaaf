"""Dashboard pages for keys: list, create (secret shown once), revoke, rotate, roles, other workspaces."""

from datetime import timedelta
from http import HTTPStatus

import pytest
from django.conf import settings
from django.utils import timezone

from apikeys.models import ApiKey
from apikeys.services import apikey_create, apikey_revoke
from tests.conftest import client_for

SECRET_PAGE = "/keys/secret/"


def _secret_in(response, text: str) -> bool:
    body = response.content.decode()
    return text in body or text.rsplit("_", 1)[1] in body


def _create(client, **fields):
    data = {"name": "web", "scopes": ["read", "write"], "environment": "live", "burst_window": "1"}
    data.update(fields)
    return client.post("/keys/new/", data)


def _secret_from(response) -> str:
    body = response.content.decode()
    start = body.index('id="new-key"')
    return body[body.index(">", start) + 1: body.index("</code>", start)].strip()


def _shown(client, response):
    """The page a create or rotate POST redirects to: where its secret is shown, once."""
    assert response.status_code == HTTPStatus.FOUND, response.content
    assert response["Location"] == SECRET_PAGE
    return client.get(SECRET_PAGE)


# List -------------------------------------------------------------------------------------

def test_key_list_shows_each_keys_columns(workspace, member, make_key):
    # given
    row, text = make_key(name="billing job", scopes=["read"], environment="test",
                         expires_at=timezone.now() + timedelta(days=3))
    revoked, _ = make_key(name="old laptop")
    apikey_revoke(key=revoked)
    # when
    response = client_for(workspace, member).get("/keys/")
    # then
    assert response.status_code == HTTPStatus.OK
    body = response.content.decode()
    for expected in ("billing job", row.prefix, "read", "Test", row.created_at.strftime("%Y-%m-%d"),
                     row.expires_at.strftime("%Y-%m-%d"), "active", "never", "old laptop", "revoked"):
        assert expected in body, expected
    assert not _secret_in(response, text)


def test_key_list_for_a_member_has_no_management_buttons(workspace, member, api_key):
    # given a member (keys.view, not keys.manage)
    # when
    body = client_for(workspace, member).get("/keys/").content.decode()
    # then
    assert "/keys/new/" not in body
    assert "/revoke/" not in body
    assert "/rotate/" not in body


def test_key_list_for_a_manager_has_management_buttons(workspace, manager, api_key):
    # given
    row, _ = api_key
    # when
    body = client_for(workspace, manager).get("/keys/").content.decode()
    # then the revoke form asks for confirmation (static/js/app.js reads data-confirm)
    assert 'href="/keys/new/"' in body
    assert f'action="/keys/{row.key_id}/revoke/"' in body
    assert "data-confirm=" in body
    assert f'href="/keys/{row.key_id}/rotate/"' in body


def test_nav_links_to_keys(workspace, member):
    # when
    body = client_for(workspace, member).get("/").content.decode()
    # then
    assert 'href="/keys/"' in body


def test_key_list_needs_a_signed_in_member(workspace, other_workspace, manager):
    # given an anonymous visitor, and acme's manager on globex's host
    anonymous = client_for(workspace).get("/keys/")
    outsider = client_for(other_workspace, manager).get("/keys/")
    # then
    assert anonymous.status_code == HTTPStatus.FOUND
    assert "/login/" in anonymous["Location"]
    assert outsider.status_code == HTTPStatus.NOT_FOUND


def test_key_list_shows_only_this_workspaces_keys(workspace, other_workspace, manager, api_key):
    # given
    theirs, _ = apikey_create(workspace=other_workspace, name="globex secret project")
    # when
    body = client_for(workspace, manager).get("/keys/").content.decode()
    # then
    assert "globex secret project" not in body
    assert theirs.key_id not in body


# Create -----------------------------------------------------------------------------------

def test_key_create_page_shows_the_form(workspace, admin_user):
    # when
    response = client_for(workspace, admin_user).get("/keys/new/")
    # then
    assert response.status_code == HTTPStatus.OK
    body = response.content.decode()
    for field in ('name="name"', 'name="scopes"', 'value="admin"', 'name="environment"', 'name="expires_at"',
                  'name="burst_limit"', 'name="burst_window"', 'name="allowed_ips"'):
        assert field in body, field


def test_key_create_shows_the_secret_once(workspace, admin_user):
    # given
    client = client_for(workspace, admin_user)
    # when
    created = _create(client, name="web", scopes=["read", "admin"], environment="test",
                      expires_at=(timezone.now() + timedelta(days=30)).date().isoformat(),
                      burst_limit="9", burst_window="60", allowed_ips="203.0.113.0/24\n2001:db8::/32")
    response = _shown(client, created)
    # then the page it redirects to carries the secret, a copy button and a warning, uncacheable
    assert response.status_code == HTTPStatus.OK
    text = _secret_from(response)
    row = ApiKey.objects.get(workspace=workspace)
    assert text.startswith(f"tg_test_{row.key_id}_")
    assert response["Cache-Control"] == "no-store"
    body = response.content.decode()
    assert 'data-copy="new-key"' in body
    assert "will not be shown again" in body
    assert "<script>" not in body  # CSP: no inline script
    assert (row.name, row.scopes, row.environment, row.burst_limit, row.burst_window, row.allowed_ips, row.created_by) \
        == ("web", ["read", "admin"], "test", 9, 60, ["203.0.113.0/24", "2001:db8::/32"], admin_user)
    assert row.expires_at.time().isoformat() == "00:00:00"
    # and it is not in the URL, the session, a cookie, or any later page
    assert text.rsplit("_", 1)[1] not in created["Location"]
    assert not any(text.rsplit("_", 1)[1] in str(v) for v in client.session.values())
    for morsel in (*created.cookies.values(), *response.cookies.values()):
        assert text.rsplit("_", 1)[1] not in morsel.value
    for path in ("/keys/", "/", "/keys/new/", f"/keys/{row.key_id}/rotate/", "/members/", SECRET_PAGE):
        later = client.get(path, follow=True)
        assert later.status_code == HTTPStatus.OK, path
        assert not _secret_in(later, text), path


def test_key_create_shows_the_secret_on_the_first_get_only_and_a_reload_makes_no_key(workspace, manager):
    # given a key created on the page
    client = client_for(workspace, manager)
    created = _create(client)
    # when the page it leads to is loaded, then reloaded
    first = client.get(SECRET_PAGE)
    reload = client.get(SECRET_PAGE)
    # then the first load shows the secret, the reload does not, and still one key exists
    text = _secret_from(first)
    assert created.status_code == HTTPStatus.FOUND
    assert not _secret_in(reload, text)
    assert reload.status_code == HTTPStatus.FOUND and reload["Location"] == "/keys/"
    followed = client.get(reload["Location"])
    assert "already shown" in followed.content.decode()
    assert ApiKey.objects.filter(workspace=workspace).count() == 1


def test_key_secret_page_shows_nothing_to_another_session(workspace, manager, admin_user):
    # given a key created by the manager, not yet shown
    _create(client_for(workspace, manager))
    # when someone else opens the page
    response = client_for(workspace, admin_user).get(SECRET_PAGE)
    # then
    assert response.status_code == HTTPStatus.FOUND
    assert ApiKey.objects.filter(workspace=workspace).count() == 1


def test_key_secret_page_without_its_cookie_shows_nothing(workspace, manager):
    # given a key created, and the one-time cookie gone (the session alone holds only a masked copy)
    client = client_for(workspace, manager)
    _create(client)
    for name in list(client.cookies):
        if name != settings.SESSION_COOKIE_NAME:
            del client.cookies[name]
    # when
    response = client.get(SECRET_PAGE)
    # then
    assert response.status_code == HTTPStatus.FOUND
    assert 'id="new-key"' not in client.get("/keys/").content.decode()


def test_key_created_on_the_dashboard_authenticates(workspace, manager, api_client):
    # given
    client = client_for(workspace, manager)
    text = _secret_from(_shown(client, _create(client)))
    # when
    response = api_client.get("/api/v1/info", HTTP_AUTHORIZATION=f"Bearer {text}")
    # then
    assert response.status_code == HTTPStatus.OK


@pytest.mark.parametrize(
    ("fields", "field", "message"),
    [
        ({"name": ""}, "name", "required"),
        ({"name": "x" * 101}, "name", "100 characters"),
        ({"scopes": []}, "scopes", "required"),
        ({"scopes": ["root"]}, "scopes", "not one of the available choices"),
        ({"environment": "prod"}, "environment", "not one of the available choices"),
        ({"expires_at": "2001-01-01"}, "expires_at", "must be in the future"),
        ({"expires_at": "tomorrow"}, "expires_at", "valid date"),
        ({"burst_limit": "0"}, "burst_limit", "greater than or equal to 1"),
        ({"burst_limit": "lots"}, "burst_limit", "whole number"),
        ({"burst_window": "5"}, "burst_window", "not one of the available choices"),
        ({"allowed_ips": "10.0.0.0/8\n300.1.2.3"}, "allowed_ips", "not an IP address or CIDR range"),
    ],
)
def test_key_create_bad_input_shows_the_error_next_to_the_field(workspace, manager, fields, field, message):
    # given
    client = client_for(workspace, manager)
    # when
    response = _create(client, **fields)
    # then
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert ApiKey.objects.filter(workspace=workspace).count() == 0
    errors = response.context["form"].errors
    assert field in errors, errors
    assert message in " ".join(errors[field])
    body = response.content.decode()
    assert 'class="field-error"' in body
    assert 'id="new-key"' not in body


def test_key_create_needs_keys_manage(workspace, member):
    # given a member (may view keys, not manage them)
    client = client_for(workspace, member)
    # when
    page = client.get("/keys/new/")
    post = _create(client)
    # then
    assert page.status_code == HTTPStatus.FORBIDDEN
    assert post.status_code == HTTPStatus.FORBIDDEN
    assert ApiKey.objects.filter(workspace=workspace).count() == 0


# Revoke -----------------------------------------------------------------------------------

def test_key_revoke_from_the_dashboard(workspace, manager, api_key, api_client, committed):
    # given a key in use
    row, text = api_key
    assert api_client.get("/api/v1/info", HTTP_AUTHORIZATION=f"Bearer {text}").status_code == HTTPStatus.OK
    client = client_for(workspace, manager)
    # when
    with committed():
        response = client.post(f"/keys/{row.key_id}/revoke/", follow=True)
    # then
    assert response.redirect_chain[-1][0] == "/keys/"
    assert "is revoked" in response.content.decode()
    row.refresh_from_db()
    assert row.status == "revoked"
    refused = api_client.get("/api/v1/info", HTTP_AUTHORIZATION=f"Bearer {text}")
    assert refused.json()["code"] == "api_key_revoked"


def test_key_revoke_needs_post(workspace, manager, api_key):
    # given
    row, _ = api_key
    # when
    response = client_for(workspace, manager).get(f"/keys/{row.key_id}/revoke/")
    # then
    assert response.status_code == HTTPStatus.METHOD_NOT_ALLOWED
    row.refresh_from_db()
    assert row.revoked_at is None


def test_key_revoke_needs_keys_manage(workspace, member, api_key):
    # given
    row, _ = api_key
    # when
    response = client_for(workspace, member).post(f"/keys/{row.key_id}/revoke/")
    # then
    assert response.status_code == HTTPStatus.FORBIDDEN
    row.refresh_from_db()
    assert row.revoked_at is None


def test_key_revoke_twice_says_so(workspace, manager, api_key):
    # given
    row, _ = api_key
    client = client_for(workspace, manager)
    client.post(f"/keys/{row.key_id}/revoke/")
    row.refresh_from_db()
    first = row.revoked_at
    # when
    response = client.post(f"/keys/{row.key_id}/revoke/", follow=True)
    # then
    assert "already revoked" in response.content.decode()
    row.refresh_from_db()
    assert row.revoked_at == first


# Rotate -----------------------------------------------------------------------------------

def test_key_rotate_page_offers_the_grace_periods(workspace, manager, api_key):
    # given
    row, _ = api_key
    # when
    response = client_for(workspace, manager).get(f"/keys/{row.key_id}/rotate/")
    # then
    assert response.status_code == HTTPStatus.OK
    body = response.content.decode()
    for seconds in ("0", "3600", "86400", "604800"):
        assert f'value="{seconds}"' in body


def test_key_rotate_shows_the_new_secret_once(workspace, manager, api_key, api_client):
    # given
    old, old_text = api_key
    client = client_for(workspace, manager)
    # when
    response = _shown(client, client.post(f"/keys/{old.key_id}/rotate/", {"grace_period": "3600"}))
    # then
    assert response.status_code == HTTPStatus.OK
    assert response["Cache-Control"] == "no-store"
    new_text = _secret_from(response)
    assert new_text != old_text
    assert not _secret_in(response, old_text)
    old.refresh_from_db()
    assert old.rotated_to is not None
    assert timezone.now() + timedelta(minutes=59) < old.expires_at <= timezone.now() + timedelta(hours=1)
    assert old.prefix in response.content.decode()
    # and both keys work during the grace period
    for text in (old_text, new_text):
        assert api_client.get("/api/v1/info", HTTP_AUTHORIZATION=f"Bearer {text}").status_code == HTTPStatus.OK
    # and the new secret is on no later page, and a reload rotates nothing
    assert not _secret_in(client.get("/keys/"), new_text)
    assert not _secret_in(client.get(SECRET_PAGE, follow=True), new_text)
    assert ApiKey.objects.filter(workspace=workspace).count() == 2


def test_key_rotate_now_stops_the_old_key(workspace, manager, api_key, api_client):
    # given
    old, old_text = api_key
    # when
    response = client_for(workspace, manager).post(f"/keys/{old.key_id}/rotate/", {"grace_period": "0"})
    # then
    assert response.status_code == HTTPStatus.FOUND
    refused = api_client.get("/api/v1/info", HTTP_AUTHORIZATION=f"Bearer {old_text}")
    assert refused.json()["code"] == "api_key_revoked"


def test_key_rotate_bad_grace_shows_the_error_and_changes_nothing(workspace, manager, api_key):
    # given
    old, _ = api_key
    # when
    response = client_for(workspace, manager).post(f"/keys/{old.key_id}/rotate/", {"grace_period": "5"})
    # then
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "grace_period" in response.context["form"].errors
    assert ApiKey.objects.filter(workspace=workspace).count() == 1
    old.refresh_from_db()
    assert old.rotated_to is None


def test_key_rotate_of_a_revoked_key_is_refused(workspace, manager, api_key):
    # given
    old, _ = api_key
    apikey_revoke(key=old)
    client = client_for(workspace, manager)
    # when
    page = client.get(f"/keys/{old.key_id}/rotate/")
    post = client.post(f"/keys/{old.key_id}/rotate/", {"grace_period": "0"})
    # then
    assert "only an active key can be rotated" in page.content.decode()
    assert post.status_code == HTTPStatus.BAD_REQUEST
    assert "only an active key can be rotated" in post.content.decode()
    assert ApiKey.objects.filter(workspace=workspace).count() == 1


def test_key_rotate_needs_keys_manage(workspace, member, api_key):
    # given
    old, _ = api_key
    # when
    response = client_for(workspace, member).post(f"/keys/{old.key_id}/rotate/", {"grace_period": "0"})
    # then
    assert response.status_code == HTTPStatus.FORBIDDEN
    old.refresh_from_db()
    assert old.status == "active"


# Other workspaces ---------------------------------------------------------------------------

def test_other_workspaces_key_is_404_on_the_dashboard(workspace, other_workspace, manager):
    # given globex's key, and acme's manager on acme's host
    theirs, _ = apikey_create(workspace=other_workspace, name="globex key")
    client = client_for(workspace, manager)
    # when
    revoke = client.post(f"/keys/{theirs.key_id}/revoke/")
    rotate_page = client.get(f"/keys/{theirs.key_id}/rotate/")
    rotate = client.post(f"/keys/{theirs.key_id}/rotate/", {"grace_period": "0"})
    missing = client.post("/keys/doesnotexist/revoke/")
    # then
    for response in (revoke, rotate_page, rotate, missing):
        assert response.status_code == HTTPStatus.NOT_FOUND
    theirs.refresh_from_db()
    assert theirs.status == "active"
    assert theirs.rotated_to is None
    assert ApiKey.objects.filter(workspace=other_workspace).count() == 1
