"""The branding page, and branding on every dashboard page, the login page and emails."""

import re
from http import HTTPStatus

import pytest
from django.core import mail
from django.core.files.uploadedfile import SimpleUploadedFile

from accounts.permissions import Role
from branding.selectors import branding_get
from branding.services import branding_update
from tests.branding.conftest import png_bytes
from tests.conftest import client_for

FORM = {"company_name": "Acme Robotics", "primary_color": "#0b3d91", "secondary_color": "#f1f3f5",
        "accent_color": "#1864ab", "welcome_message": "Welcome, builders.", "footer_text": "© Acme Robotics Ltd",
        "custom_css": ""}


def _brand(workspace, actor, **extra):
    return branding_update(workspace=workspace, actor=actor, **{**FORM, **extra})


def test_branding_page_saves_with_a_logo(workspace, owner, committed):
    client = client_for(workspace, owner)
    page = client.get("/branding/")
    assert page.status_code == HTTPStatus.OK
    html = page.content.decode()
    assert 'id="branding-preview"' in html and "/static/js/branding.js" in html
    assert "<script>" not in html and " style=" not in html  # the CSP: no inline script or style
    with committed():
        response = client.post("/branding/", {**FORM, "logo": SimpleUploadedFile("logo.png", png_bytes(),
                                                                                  "image/png")}, follow=True)
    assert response.status_code == HTTPStatus.OK
    assert "Branding saved." in response.content.decode()
    row = branding_get(workspace=workspace)
    assert row.company_name == "Acme Robotics" and row.logo and bytes(row.logo) != png_bytes()
    logo = client_for(workspace).get("/branding/logo.png?v=1")
    assert logo.status_code == HTTPStatus.OK and logo["Content-Type"] == "image/png"


@pytest.mark.parametrize(("change", "field", "words"), [
    ({"primary_color": "navy"}, "primary_color", "is not a colour"),
    ({"logo": SimpleUploadedFile("x.png", b"<svg><script>alert(1)</script></svg>", "image/png")}, "logo", "SVG"),
    ({"favicon": SimpleUploadedFile("f.png", b"%PDF-1.4 not an image", "image/png")}, "favicon",
     "not a PNG, JPEG or WebP"),
])
def test_branding_page_shows_errors_next_to_the_field_and_stores_nothing(workspace, owner, change, field, words):
    response = client_for(workspace, owner).post("/branding/", {**FORM, **change})
    assert response.status_code == HTTPStatus.BAD_REQUEST
    html = response.content.decode()
    block = re.search(rf'<div class="field has-error" data-field="{field}">(.*?)</div>', html, re.S)
    assert block and words in block.group(1), html
    assert branding_get(workspace=workspace).pk is None


def test_branding_page_refuses_css_outside_the_plan_and_shows_the_upgrade(workspace, owner):
    client = client_for(workspace, owner)
    html = client.get("/branding/").content.decode()
    assert "Custom CSS is part of plans with custom branding" in html and 'href="/billing/"' in html
    # a disabled field: what a browser posts anyway is ignored, nothing refused or stored
    client.post("/branding/", {**FORM, "custom_css": ".a { color: red }"})
    assert branding_get(workspace=workspace).custom_css == ""


def test_branding_page_shows_css_refusal_with_line_and_column(workspace, owner):
    from tenants.services import workspace_set_features

    workspace_set_features(workspace=workspace, features={"custom_branding": True})
    response = client_for(workspace, owner).post("/branding/", {**FORM, "custom_css": "a { color: red }\n@import 'x';"})
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "Line 2, column 1: @import is not allowed" in response.content.decode()


def test_branding_page_is_for_admins_and_owners(workspace, member, manager, admin_user):
    assert client_for(workspace, member).get("/branding/").status_code == HTTPStatus.FORBIDDEN
    assert client_for(workspace, manager).get("/branding/").status_code == HTTPStatus.FORBIDDEN
    assert client_for(workspace, admin_user).get("/branding/").status_code == HTTPStatus.OK


@pytest.mark.parametrize("path", ["/", "/members/", "/keys/", "/audit/", "/branding/"])
def test_every_dashboard_page_shows_the_branding(workspace, owner, path, committed):
    with committed():
        _brand(workspace, owner, logo=png_bytes(), favicon=png_bytes(size=(32, 32)))
    html = client_for(workspace, owner).get(path).content.decode()
    assert '<link rel="stylesheet" href="/branding/theme.css?v=1">' in html
    assert '<link rel="icon" type="image/png" href="/branding/favicon.png?v=1">' in html
    assert '<img class="brand-logo" src="/branding/logo.png?v=1" alt=""><span>Acme Robotics</span></a>' in html
    assert '<p class="brand-footer">© Acme Robotics Ltd</p>' in html


def test_login_page_shows_the_branding_and_unbranded_shows_none(workspace, other_workspace, owner, committed):
    with committed():
        _brand(workspace, owner)
    html = client_for(workspace).get("/login/").content.decode()
    assert "Log in to Acme Robotics" in html and "Welcome, builders." in html and "theme.css?v=1" in html
    other = client_for(other_workspace).get("/login/").content.decode()
    assert "Acme" not in other and "theme.css" not in other
    public = client_for(None).get("/login/").content.decode()
    assert "theme.css" not in public


def test_invitation_email_carries_the_branding(workspace, owner, committed):
    from accounts.models import Membership
    from accounts.services.invitations import invitation_create

    with committed():
        _brand(workspace, owner)
    actor = Membership.objects.get(user=owner, workspace=workspace)
    with committed():
        invitation_create(workspace=workspace, email="new@acme.test", role=Role.MEMBER, actor=actor)
    [message] = mail.outbox
    assert message.subject == "You're invited to Acme Robotics"
    assert "join Acme Robotics as member" in message.body and message.body.rstrip().endswith("--\n© Acme Robotics Ltd")
    assert "Tollgate" not in message.subject + message.body


def test_branding_costs_a_page_no_query(workspace, owner, committed, django_assert_max_num_queries):
    # given the query count of the login page of an unbranded workspace (host cache warm)
    from django.db import connection
    from django.test.utils import CaptureQueriesContext

    client = client_for(workspace)
    client.get("/login/")
    with CaptureQueriesContext(connection) as plain:
        client.get("/login/")
    # when the workspace is branded (its cached host refreshed once)
    with committed():
        _brand(workspace, owner, logo=png_bytes())
    client.get("/login/")
    # then its login page, branded, costs the same: the brand travels with the cached workspace
    with CaptureQueriesContext(connection) as branded:
        html = client.get("/login/").content.decode()
    assert "Log in to Acme Robotics" in html and "/branding/logo.png?v=1" in html
    assert len(branded) == len(plain), [q["sql"] for q in branded]


def test_demo_brands_the_demo_workspace_once_and_keeps_later_edits(workspace, owner, committed):
    from branding.selectors import branding_get
    from branding.services import branding_update
    from dashboard.management.commands.demo import Command

    # given the demo command ran
    with committed():
        Command()._branding(workspace, owner)
    assert branding_get(workspace=workspace).company_name == "Demo Inc"
    # when someone renames the company and the demo runs again
    with committed():
        branding_update(workspace=workspace, actor=owner, company_name="Renamed Co", primary_color="#1f5fbf",
                        secondary_color="#0f2d5c", accent_color="#b3420f", welcome_message="", footer_text="",
                        custom_css="")
        Command()._branding(workspace, owner)
    # then the edit stays (the demo brands once)
    assert branding_get(workspace=workspace).company_name == "Renamed Co"
