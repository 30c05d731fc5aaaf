"""Operators' admin for keys: list and revoke, never a secret."""

from http import HTTPStatus

from tests.conftest import client_for
from tests.factories import UserFactory


def test_admin_lists_keys_without_secrets(api_key):
    # given an operator
    row, text = api_key
    operator = UserFactory(is_staff=True, is_superuser=True)
    client = client_for(None, operator)
    # when
    listed = client.get("/admin/apikeys/apikey/")
    shown = client.get(f"/admin/apikeys/apikey/{row.pk}/change/")
    add = client.get("/admin/apikeys/apikey/add/")
    # then
    assert listed.status_code == HTTPStatus.OK
    assert row.prefix in listed.content.decode()
    assert shown.status_code == HTTPStatus.OK
    for response in (listed, shown):
        assert text.rsplit("_", 1)[1] not in response.content.decode()
        assert row.digest not in response.content.decode()
    assert add.status_code == HTTPStatus.FORBIDDEN


def test_admin_revoke_action_revokes_through_the_service(api_key, api_client, committed):
    # given an operator and a key in use
    row, text = api_key
    assert api_client.get("/api/v1/info", HTTP_AUTHORIZATION=f"Bearer {text}").status_code == HTTPStatus.OK
    client = client_for(None, UserFactory(is_staff=True, is_superuser=True))
    # when
    with committed():
        response = client.post("/admin/apikeys/apikey/", {"action": "revoke", "_selected_action": [row.pk]})
    # then
    assert response.status_code == HTTPStatus.FOUND
    row.refresh_from_db()
    assert row.status == "revoked"
    refused = api_client.get("/api/v1/info", HTTP_AUTHORIZATION=f"Bearer {text}")
    assert refused.json()["code"] == "api_key_revoked"


def test_admin_is_closed_to_workspace_members(member):
    # given a workspace member who is no operator
    client = client_for(None, member)
    # when
    response = client.get("/admin/apikeys/apikey/")
    # then
    assert response.status_code == HTTPStatus.FOUND
    assert "/admin/login/" in response["Location"]
