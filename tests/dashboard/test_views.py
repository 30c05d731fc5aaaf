"""The dashboard's pages on a workspace host and the public site's own: who may open them, what
they show, what their forms refuse (next to the field) and what they change."""

import re
from http import HTTPStatus
from urllib.parse import urlsplit

import pytest
from django.core import mail
from django.test import Client
from django_tenants.utils import schema_context

from accounts.models import Membership, SignupRequest, User, UserSession
from accounts.permissions import Role
from apikeys.services import apikey_create
from auditing.models import AuditEvent
from auditing.services import record
from billing.models import Subscription
from tenants.models import Workspace
from tests.accounts.helpers import field_errors, flash_messages
from tests.conftest import add_member, client_for
from tests.factories import PASSWORD

NEW_PASSWORD = "a brand new passphrase 7"


def _text(response) -> str:
    return response.content.decode()


def _nav(response) -> list[str]:
    nav = re.search(r'<nav class="nav" aria-label="Main">(.*?)</nav>', _text(response), re.DOTALL).group(1)
    return re.findall(r">([^<]+)</a>", nav)


def _current(response) -> list[str]:
    return re.findall(r'aria-current="page">([^<]+)</a>', _text(response))


def _logged_in(workspace, user) -> Client:
    """A browser that logged in through the login form (a real session row, like a person's)."""
    client = client_for(workspace)
    response = client.post("/login/", {"username": user.email, "password": PASSWORD})
    assert response.status_code == HTTPStatus.FOUND, response.status_code
    return client


# --- the shell ---------------------------------------------------------------------------------


def test_navigation_lists_audit_log_once_for_admins_and_marks_the_current_page(workspace, owner):
    # given an owner
    # when they open the members page
    response = client_for(workspace, owner).get("/members/")
    # then the menu has each page once, the audit log among them, and Members is marked current
    assert _nav(response).count("Audit log") == 1
    assert _nav(response)[0] == "Overview" and "Settings" in _nav(response)
    assert _current(response) == ["Members"]


def test_navigation_hides_pages_the_role_cannot_open(workspace, member):
    # given a plain member
    # when they open the overview
    response = client_for(workspace, member).get("/")
    # then the audit log is not offered
    assert "Audit log" not in _nav(response) and _current(response) == ["Overview"]


def test_pages_carry_a_skip_link_a_favicon_and_a_csp_without_inline_script(workspace, owner):
    # given an owner
    # when they open the overview
    response = client_for(workspace, owner).get("/")
    page = _text(response)
    # then the page starts with a skip link to the main content, names its icon, and runs no inline script
    assert '<a class="skip-link" href="#main">' in page and 'id="main"' in page
    assert 'rel="icon"' in page
    assert "script-src 'self'" in response["Content-Security-Policy"]
    assert "'unsafe-inline'" not in response["Content-Security-Policy"]
    assert not re.search(r"<script(?![^>]*\bsrc=)[^>]*>", page), "an inline <script>"
    assert not re.search(r"\sstyle=", page), "an inline style attribute"
    assert not re.search(r"\son[a-z]+=", page), "an inline event handler"


@pytest.mark.parametrize("host", ["public", "workspace"])
def test_unknown_page_is_the_styled_404_on_every_host(workspace, host):
    # given a visitor on the public site or a workspace's host
    client = client_for(workspace if host == "workspace" else None)
    # when they open an address that does not exist
    response = client.get("/no-such-page/")
    # then they get the site's own 404 page, in the shell, with the CSP
    assert response.status_code == HTTPStatus.NOT_FOUND
    assert "<h1>Page not found</h1>" in _text(response) and 'class="skip-link"' in _text(response)
    assert "Content-Security-Policy" in response


def test_favicon_ico_is_served_on_every_host(workspace):
    # given any host
    for client in (client_for(None), client_for(workspace)):
        # when a browser asks for /favicon.ico
        response = client.get("/favicon.ico")
        # then it is sent to the icon among our static files
        assert response.status_code == HTTPStatus.MOVED_PERMANENTLY
        assert response["Location"].endswith("/static/img/favicon.ico")


# --- overview ----------------------------------------------------------------------------------


def test_overview_sends_anonymous_visitors_to_login_and_hides_from_non_members(workspace, other_workspace, owner):
    # given acme's owner, not a member of globex
    # when nobody signed in opens acme's overview, and acme's owner opens globex's
    anonymous = client_for(workspace).get("/")
    stranger = client_for(other_workspace, owner).get("/")
    # then one is asked to log in and the other finds nothing
    assert anonymous.status_code == HTTPStatus.FOUND and "/login/" in anonymous["Location"]
    assert stranger.status_code == HTTPStatus.NOT_FOUND


def test_overview_checklist_ticks_itself_off_from_what_happened(workspace, owner):
    # given a new workspace: nothing done yet
    client = client_for(workspace, owner)
    fresh = _text(client.get("/"))
    assert 'id="step-key"' in fresh and '<li class="done" id="step-key">' not in fresh
    assert '<li class="done" id="step-invite">' not in fresh
    # when a key is created and a teammate is invited
    apikey_create(workspace=workspace, name="ci", scopes=["read"], actor=owner)
    add_member(workspace, Role.MEMBER)
    later = _text(client.get("/"))
    # then those steps are ticked, and the others are not
    assert '<li class="done" id="step-key">' in later
    assert '<li class="done" id="step-invite">' in later
    assert '<li class="done" id="step-call">' not in later


def test_overview_shows_a_curl_with_the_workspaces_own_address_and_the_plan(workspace, owner):
    # given acme's owner
    # when they open the overview
    page = _text(client_for(workspace, owner).get("/"))
    # then the example calls acme's own host, and the plan shown is the default one
    assert "curl -i -X POST http://acme.localhost/api/v1/analyze" in page
    assert re.search(r'id="plan".*?<strong>Free</strong>', page, re.DOTALL)


def test_overview_shows_recent_audit_events_to_admins_only(workspace, owner, member):
    # given an event in the workspace's trail
    record(action="role_changed", actor=owner, workspace=workspace, details={"to": "manager"})
    # when an owner and a member open the overview
    # then only the owner sees the recent activity
    assert "Recent activity" in _text(client_for(workspace, owner).get("/"))
    assert "Recent activity" not in _text(client_for(workspace, member).get("/"))


# --- members -----------------------------------------------------------------------------------


def test_members_page_shows_names_roles_explained_and_no_remove_on_your_own_row(workspace, owner, member):
    # given an owner named Ana and a member
    owner.full_name = "Ana Lima"
    owner.save()
    mine = Membership.objects.get(user=owner, workspace=workspace)
    theirs = Membership.objects.get(user=member, workspace=workspace)
    # when the owner opens the members page
    page = _text(client_for(workspace, owner).get("/members/"))
    # then names show, every role is explained, and only the other row can be removed
    assert "Ana Lima" in page and member.full_name in page
    assert "What each role can do" in page and "Everything, including billing" in page
    assert f'action="/members/{theirs.pk}/remove"' in page
    assert f'action="/members/{mine.pk}/remove"' not in page


def test_removing_your_own_row_is_refused_by_the_server(workspace, owner, admin_user):
    # given an admin (another owner exists, so the last-owner rule is not what refuses)
    mine = Membership.objects.get(user=admin_user, workspace=workspace)
    # when they post the remove form for their own row anyway
    response = client_for(workspace, admin_user).post(f"/members/{mine.pk}/remove")
    # then it is refused and they are still a member
    assert response.status_code == HTTPStatus.FORBIDDEN
    assert "You can&#x27;t remove yourself" in _text(response)
    assert Membership.objects.filter(pk=mine.pk).exists()


def test_removing_another_member_says_so_in_a_flash_message(workspace, owner, member):
    # given an owner and a member
    theirs = Membership.objects.get(user=member, workspace=workspace)
    # when the owner removes the member
    response = client_for(workspace, owner).post(f"/members/{theirs.pk}/remove", follow=True)
    # then the page says so, once, as a success
    assert flash_messages(response) == [("success", f"{member.email} was removed.")]
    assert not Membership.objects.filter(pk=theirs.pk).exists()


def test_members_page_lists_pending_invitations_or_says_there_are_none(workspace, owner):
    # given no invitation
    client = client_for(workspace, owner)
    assert "No invitation is waiting." in _text(client.get("/members/"))
    # when one is sent
    client.post("/members/", {"email": "newcomer@example.test", "role": Role.MEMBER})
    # then it is listed
    page = _text(client.get("/members/"))
    assert "newcomer@example.test" in page and "No invitation is waiting." not in page


# --- audit -------------------------------------------------------------------------------------


def test_audit_details_are_readable_lines_not_python_dicts(workspace, owner):
    # given events whose details hold None, nested values and lists
    record(action="role_changed", actor=owner, workspace=workspace,
           details={"member": "bo@acme.test", "from": None, "to": "manager"})
    record(action="features_changed", actor=owner, workspace=workspace,
           details={"to": {"custom_domain": True}, "scopes": ["read", "write"]})
    # when the audit page is opened
    page = _text(client_for(workspace, owner).get("/audit/"))
    # then each detail is a "key: value" line
    assert '<span class="k">from:</span> none' in page
    assert '<span class="k">to:</span> manager' in page
    assert '<span class="k">to.custom domain:</span> yes' in page
    assert '<span class="k">scopes:</span> read, write' in page
    assert "{&#x27;" not in page and "{'" not in page and "None" not in page


def test_audit_filters_are_pickers_that_take_several_values(workspace, owner):
    # given a login, a logout and a key creation
    login = record(action="login", actor=owner, workspace=workspace)
    logout = record(action="logout", actor=owner, workspace=workspace)
    record(action="key_created", actor=owner, workspace=workspace)
    # when two actions are picked in the list
    response = client_for(workspace, owner).get("/audit/", {"action": ["login", "logout"]})
    page = _text(response)
    # then both and only both are listed, both stay selected, and the export keeps the filter
    ids = re.findall(r'<tr id="event-(\d+)">', page)
    assert sorted(ids) == sorted([str(login.pk), str(logout.pk)])
    assert re.search(r'<select name="action"[^>]*multiple', page)
    assert '<option value="login" selected>' in page and '<option value="logout" selected>' in page
    assert "/audit/export?action=login%2Clogout&amp;format=csv" in page


def test_audit_older_events_load_in_place_with_htmx(workspace, owner):
    # given more events than a page holds
    for _ in range(55):
        record(action="login", workspace=workspace)
    client = client_for(workspace, owner)
    next_url = client.get("/audit/", {"action": "login"}).context["next_url"]
    # when htmx asks for the older ones
    response = client.get("/audit/" + next_url, headers={"HX-Request": "true"})
    # then it gets only the rows and the next pager, not a whole page
    page = _text(response)
    assert len(re.findall(r'<tr id="event-', page)) == 5
    assert "<html" not in page and 'id="audit-pager" hx-swap-oob="true"' in page


# --- settings ----------------------------------------------------------------------------------


def test_settings_renames_the_workspace_for_owners(workspace, owner):
    # given an owner
    client = client_for(workspace, owner)
    # when they rename the workspace
    response = client.post("/settings/workspace/", {"name": "Acme Robotics"}, follow=True)
    # then it is renamed, said so, and audited in the workspace's trail
    assert flash_messages(response) == [("success", "The workspace is now called Acme Robotics.")]
    assert Workspace.objects.get(pk=workspace.pk).name == "Acme Robotics"
    with schema_context(workspace.schema_name):
        assert AuditEvent.objects.filter(action="workspace_renamed", details__to="Acme Robotics").exists()


def test_settings_refuses_an_empty_workspace_name_next_to_the_field(workspace, owner):
    # given an owner
    # when they save a blank name
    response = client_for(workspace, owner).post("/settings/workspace/", {"name": "   "})
    # then the error is next to the name field and nothing changed
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert field_errors(response) == {"name": ["This field is required."]}
    assert Workspace.objects.get(pk=workspace.pk).name == workspace.name


@pytest.mark.parametrize("role_fixture", ["admin_user", "member"])
def test_settings_workspace_name_and_danger_zone_are_for_owners_only(workspace, role_fixture, request):
    # given someone who is not an owner
    user = request.getfixturevalue(role_fixture)
    client = client_for(workspace, user)
    # when they open settings and post a rename and a deletion anyway
    page = _text(client.get("/settings/"))
    renamed = client.post("/settings/workspace/", {"name": "Mine now"})
    deleted = client.post("/settings/delete/", {"confirm": workspace.slug})
    # then they see neither form and both posts are refused
    assert "Danger zone" not in page and 'action="/settings/workspace/"' not in page
    assert renamed.status_code == deleted.status_code == HTTPStatus.FORBIDDEN
    assert Workspace.objects.filter(pk=workspace.pk, name=workspace.name).exists()


def test_settings_delete_needs_the_workspace_address_typed(workspace, owner):
    # given an owner
    # when they confirm deletion with the wrong address
    response = client_for(workspace, owner).post("/settings/delete/", {"confirm": "acme-typo"})
    # then the refusal is next to the field and the workspace is still there
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert field_errors(response) == {"confirm": ["Type the workspace's address (acme) to confirm."]}
    assert Workspace.objects.filter(pk=workspace.pk).exists()


def test_settings_profile_saves_your_name_and_refuses_a_too_long_one(workspace, member):
    client = client_for(workspace, member)
    # when a member saves their name
    saved = client.post("/settings/profile/", {"full_name": "Bo Chen"}, follow=True)
    # then it is kept and shown
    assert flash_messages(saved) == [("success", "Your name is saved.")]
    assert User.objects.get(pk=member.pk).full_name == "Bo Chen"
    # when they try one of 151 characters
    refused = client.post("/settings/profile/", {"full_name": "x" * 151})
    # then the error is next to the field
    assert refused.status_code == HTTPStatus.BAD_REQUEST
    assert list(field_errors(refused)) == ["full_name"]
    assert User.objects.get(pk=member.pk).full_name == "Bo Chen"


def test_password_change_refuses_a_wrong_current_password_next_to_the_field(workspace, member):
    # given a member
    client = client_for(workspace, member)
    # when they give the wrong current password, then two new ones that differ
    wrong = client.post("/settings/password/", {"old_password": "not it", "new_password1": NEW_PASSWORD,
                                                "new_password2": NEW_PASSWORD})
    differ = client.post("/settings/password/", {"old_password": PASSWORD, "new_password1": NEW_PASSWORD,
                                                 "new_password2": NEW_PASSWORD + "x"})
    # then each refusal is next to its field and the password is unchanged
    assert wrong.status_code == differ.status_code == HTTPStatus.BAD_REQUEST
    assert list(field_errors(wrong)) == ["old_password"]
    assert list(field_errors(differ)) == ["new_password2"]
    assert User.objects.get(pk=member.pk).check_password(PASSWORD)


def test_password_change_keeps_this_browser_and_signs_out_the_others(workspace, member):
    # given a member signed in on two browsers
    here, elsewhere = _logged_in(workspace, member), _logged_in(workspace, member)
    assert elsewhere.get("/settings/").status_code == HTTPStatus.OK
    # when they change their password in one
    response = here.post("/settings/password/", {"old_password": PASSWORD, "new_password1": NEW_PASSWORD,
                                                  "new_password2": NEW_PASSWORD}, follow=True)
    # then it is changed, this browser stays signed in, and the other one is signed out
    assert flash_messages(response) == [("success", "Your password is changed. 1 other session signed out.")]
    assert User.objects.get(pk=member.pk).check_password(NEW_PASSWORD)
    assert here.get("/settings/").status_code == HTTPStatus.OK
    assert elsewhere.get("/settings/").status_code == HTTPStatus.FOUND


def test_settings_lists_your_sessions_and_signs_out_the_others(workspace, owner, member):
    # given a member signed in on two browsers, and an owner signed in too
    here, elsewhere = _logged_in(workspace, member), _logged_in(workspace, member)
    owners = _logged_in(workspace, owner)
    # when the member opens settings
    page = _text(here.get("/settings/"))
    # then both their sessions are listed (this one marked), not the owner's
    assert page.count("<tr") - 1 == 2 and "this browser" in page
    assert UserSession.objects.filter(user_id=member.pk).count() == 2
    # when they sign out the others
    response = here.post("/settings/sessions/end-others/", follow=True)
    # then only the other browser of theirs is signed out, and it is audited
    assert flash_messages(response) == [("success", "Signed out of 1 other session.")]
    assert here.get("/settings/").status_code == HTTPStatus.OK
    assert elsewhere.get("/settings/").status_code == HTTPStatus.FOUND
    assert owners.get("/settings/").status_code == HTTPStatus.OK
    with schema_context(workspace.schema_name):
        assert AuditEvent.objects.filter(action="sessions_ended", details__ended=1).exists()


# --- public site -------------------------------------------------------------------------------


def test_terms_and_privacy_name_the_operator_from_settings(settings):
    # given an operator's name and contact in the settings
    settings.TOLLGATE_COMPANY_NAME = "Initrode GmbH"
    settings.TOLLGATE_CONTACT_EMAIL = "legal@initrode.test"
    for path in ("/terms/", "/privacy/"):
        # when the page is opened on the public site
        page = _text(client_for(None).get(path))
        # then it names them
        assert "Initrode GmbH" in page and "mailto:legal@initrode.test" in page


def test_signup_offers_the_active_plans_and_keeps_the_choice_through_confirmation(django_capture_on_commit_callbacks):
    # given the public signup page
    client = client_for(None)
    page = _text(client.get("/signup/?plan=pro"))
    # then it offers the active plans, the one asked for chosen
    assert '<option value="pro" selected>' in page and '<option value="free">' in page
    # when someone signs up on Pro and follows the emailed link
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/signup/", {"full_name": "Ana", "email": "ana@initech.test", "password": "a sound passphrase 42",
                                 "workspace_name": "Initech", "slug": "initech", "plan": "pro"})
    assert SignupRequest.objects.get().plan == "pro"
    link = urlsplit(re.search(r"https?://\S+/signup/confirm/\S+/", mail.outbox[0].body).group(0))
    browser = Client(HTTP_HOST=link.hostname)
    assert "on the <strong>Pro</strong> plan" in _text(browser.get(link.path))
    browser.post(link.path)
    # then the new workspace is on Pro
    assert Subscription.objects.get(workspace__slug="initech").plan.slug == "pro"


def test_signup_refuses_an_unknown_plan_next_to_the_field():
    # when a signup names a plan that does not exist
    response = client_for(None).post("/signup/", {"full_name": "Ana", "email": "ana@initech.test",
                                                  "password": "a sound passphrase 42", "workspace_name": "Initech",
                                                  "slug": "initech", "plan": "platinum"})
    # then the error is next to the plan and nothing is kept
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert list(field_errors(response)) == ["plan"]
    assert not SignupRequest.objects.exists()
