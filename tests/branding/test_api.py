"""GET/PUT /api/v1/branding: an admin key or a session with branding.manage; problems for every
refusal, nothing stored then; the theme served from a versioned URL."""

from http import HTTPStatus

import pytest
from django_tenants.utils import schema_context

from auditing.models import AuditEvent
from branding.selectors import branding_get
from tenants.services import workspace_set_features
from tests.branding.conftest import b64, png_bytes
from tests.conftest import client_for, host_of

BODY = {"company_name": "Acme Robotics", "primary_color": "#0b3d91", "secondary_color": "#ffffff",
        "accent_color": "#1864ab", "welcome_message": "Welcome, builders.", "footer_text": "© Acme Robotics",
        "custom_css": ""}


def put(api_client, key, body):
    return api_client.put("/api/v1/branding", body, format="json", HTTP_AUTHORIZATION=f"Bearer {key}")


def test_put_branding_with_admin_key_saves_and_audits(api_client, workspace, admin_key, committed):
    # when
    with committed():
        response = put(api_client, admin_key[1], {**BODY, "logo": b64(png_bytes())})
    # then
    assert response.status_code == HTTPStatus.OK, response.content
    body = response.json()
    assert body["company_name"] == "Acme Robotics" and body["version"] == 1
    assert body["logo_url"] == "/branding/logo.png?v=1" and body["favicon_url"] is None
    assert body["warnings"] == []
    with schema_context(workspace.schema_name):
        event = AuditEvent.objects.get(action="branding_updated")
    assert "company_name" in event.details["changed"] and "logo" in event.details["changed"]
    # and GET reads it back
    again = api_client.get("/api/v1/branding", HTTP_AUTHORIZATION=f"Bearer {admin_key[1]}").json()
    assert again["primary_color"] == "#0b3d91" and again["logo_url"] == "/branding/logo.png?v=1"


def test_put_branding_warns_on_low_contrast_and_saves(api_client, workspace, admin_key):
    response = put(api_client, admin_key[1], {**BODY, "primary_color": "#ffdd57", "secondary_color": "#777777"})
    assert response.status_code == HTTPStatus.OK
    warnings = {w["field"]: w for w in response.json()["warnings"]}
    assert set(warnings) == {"primary_color", "secondary_color"}
    assert warnings["primary_color"]["ratio"] < 4.5 and "WCAG AA" in warnings["primary_color"]["message"]
    assert branding_get(workspace=workspace).primary_color == "#ffdd57"


@pytest.mark.parametrize(("change", "code", "field"), [
    ({"primary_color": "blue"}, "invalid_input", "primary_color"),
    ({"company_name": "x" * 101}, "invalid_input", "company_name"),
    ({"logo": "not base64!!"}, "image_refused", "logo"),
    ({"logo": b64(b"<svg xmlns='http://www.w3.org/2000/svg'><script>alert(1)</script></svg>")}, "image_refused", "logo"),
    ({"favicon": b64(png_bytes() + b"<script>alert(1)</script>")}, "image_refused", "favicon"),
])
def test_put_branding_refusals_are_problems_and_store_nothing(api_client, workspace, admin_key, change, code, field):
    response = put(api_client, admin_key[1], {**BODY, **change})
    assert response.status_code == HTTPStatus.BAD_REQUEST, response.content
    assert response["Content-Type"] == "application/problem+json"
    assert response.json()["code"] == code and response.json()["field"] == field
    assert branding_get(workspace=workspace).pk is None  # nothing stored


def test_put_custom_css_outside_the_plan_names_the_upgrade(api_client, workspace, admin_key):
    response = put(api_client, admin_key[1], {**BODY, "custom_css": ".topbar { color: #fff }"})
    assert response.status_code == HTTPStatus.FORBIDDEN
    problem = response.json()
    assert problem["code"] == "plan_upgrade_required" and problem["upgrade_url"] == "/billing/"
    assert "Billing page" in problem["detail"]
    assert branding_get(workspace=workspace).pk is None


def test_put_hostile_css_is_refused_with_line_and_column(api_client, workspace, admin_key):
    workspace_set_features(workspace=workspace, features={"custom_branding": True})
    css = ".topbar { color: #fff }\n.x { background: url(//evil.test/steal) }"
    response = put(api_client, admin_key[1], {**BODY, "custom_css": css})
    assert response.status_code == HTTPStatus.BAD_REQUEST
    problem = response.json()
    assert problem["code"] == "css_refused" and (problem["line"], problem["column"]) == (2, 18)
    assert problem["detail"].startswith("Line 2, column 18: url() is not allowed")
    assert branding_get(workspace=workspace).pk is None


def test_theme_css_serves_colours_and_allowed_css_by_version(api_client, workspace, admin_key, committed):
    workspace_set_features(workspace=workspace, features={"custom_branding": True})
    with committed():
        put(api_client, admin_key[1], {**BODY, "custom_css": ".topbar { letter-spacing: 1px }"})
    response = client_for(workspace).get("/branding/theme.css?v=1")
    assert response.status_code == HTTPStatus.OK and response["Content-Type"].startswith("text/css")
    assert "immutable" in response["Cache-Control"]
    css = response.content.decode()
    assert "--accent: #0b3d91" in css and ".topbar { letter-spacing: 1px }" in css
    # an older version's URL is not cached for long
    assert client_for(workspace).get("/branding/theme.css?v=0")["Cache-Control"] == "no-cache"
    # the plan losing the feature stops the custom CSS being served (the colours stay)
    with committed():
        workspace_set_features(workspace=workspace, features={"custom_branding": False})
    css = client_for(workspace).get("/branding/theme.css?v=1").content.decode()
    assert "letter-spacing" not in css and "--accent: #0b3d91" in css


def test_branding_api_needs_admin_scope_or_branding_manage(api_client, workspace, api_key, member, admin_user):
    # a read/write key: 403 naming the scope
    response = api_client.get("/api/v1/branding", HTTP_AUTHORIZATION=f"Bearer {api_key[1]}")
    assert response.status_code == HTTPStatus.FORBIDDEN and response.json()["code"] == "insufficient_scope"
    # a member's session: 403; an admin's session: 200
    assert client_for(workspace, member).get("/api/v1/branding").status_code == HTTPStatus.FORBIDDEN
    assert client_for(workspace, admin_user).get("/api/v1/branding").status_code == HTTPStatus.OK


def test_branding_of_b_is_unreachable_from_a(workspace, other_workspace, admin_user, admin_key, api_client):
    # given B has branding
    from branding.services import branding_update
    from tests.conftest import add_member

    b_owner = add_member(other_workspace, "owner", email="owner@globex.test")
    branding_update(workspace=other_workspace, actor=b_owner, **{**BODY, "company_name": "Globex Secret"})
    # when A's admin asks on B's host, through the API and the page
    a_on_b = client_for(other_workspace, admin_user)
    assert a_on_b.get("/api/v1/branding").status_code == HTTPStatus.NOT_FOUND
    assert a_on_b.get("/branding/").status_code == HTTPStatus.NOT_FOUND
    assert a_on_b.post("/branding/", {"company_name": "pwned"}).status_code == HTTPStatus.NOT_FOUND
    # and A's admin key names B's host: refused, never B's branding
    response = api_client.get("/api/v1/branding", HTTP_HOST=host_of(other_workspace),
                              HTTP_AUTHORIZATION=f"Bearer {admin_key[1]}")
    assert response.status_code in (HTTPStatus.FORBIDDEN, HTTPStatus.NOT_FOUND)
    assert b"Globex" not in response.content
    # then A's own branding is A's
    assert client_for(workspace, admin_user).get("/api/v1/branding").json()["company_name"] == ""
    assert branding_get(workspace=other_workspace).company_name == "Globex Secret"
