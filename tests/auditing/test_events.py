"""Every event that has a feature today is written when its action happens, through the
real entry point (page, API, admin), with its actor, the caller's IP and the request id."""

import re

import pytest
from django.core import mail
from django.http import HttpResponse
from django.test import Client, RequestFactory

from accounts.models import Invitation, Membership
from accounts.permissions import Role
from accounts.services import invitation_create
from config.middleware import RequestIdMiddleware
from tenants.models import Workspace
from tenants.services import domain_add
from tests.auditing.conftest import IP, UA, events, headers, one
from tests.conftest import client_for
from tests.factories import PASSWORD, UserFactory


def _from_request(event, *, actor_type: str, actor_label: str, rid: str) -> None:
    assert (event.actor_type, event.actor_label) == (actor_type, actor_label)
    assert (event.ip, event.request_id, event.user_agent) == (IP, rid, UA)


@pytest.fixture
def operator():
    return UserFactory(email="ops@tollgate.test", is_staff=True, is_superuser=True)


# Public site ------------------------------------------------------------------------------

def test_signup_records_user_signup_and_workspace_created(django_capture_on_commit_callbacks):
    # given a visitor on the public site who signed up and got the emailed link
    client = Client(HTTP_HOST="localhost")
    with django_capture_on_commit_callbacks(execute=True):
        client.post("/signup/", {"email": "Neo@Example.test", "password": PASSWORD, "full_name": "Neo",
                                 "workspace_name": "Zion", "slug": "zion"}, **headers("rid-signup-0"))
    assert events(None) == []  # nothing exists until the link is followed
    path = re.search(r"https?://[^/]+(/signup/confirm/\S+/)", mail.outbox[0].body).group(1)
    # when they follow it
    response = client.post(path, **headers("rid-signup-1"))
    # then the platform records the signup and the new workspace, both by the new user
    assert response.status_code < 400  # on to the workspace's host (a redirect or a page that moves on)
    signup = one(None, action="user_signup")
    _from_request(signup, actor_type="user", actor_label="neo@example.test", rid="rid-signup-1")
    assert signup.details == {"workspace": "zion"}
    created = one(None, action="workspace_created")
    _from_request(created, actor_type="user", actor_label="neo@example.test", rid="rid-signup-1")


def test_signup_refused_records_nothing(workspace):
    # given a taken workspace address
    client = Client(HTTP_HOST="localhost")
    # when someone signs up with it
    response = client.post("/signup/", {"email": "x@example.test", "password": PASSWORD, "workspace_name": "A",
                                        "slug": "acme"}, **headers())
    # then no signup event is written
    assert response.status_code == 400
    assert events(None, action="user_signup") == []


# Sessions ---------------------------------------------------------------------------------

def test_login_records_login_in_the_workspace(workspace, member):
    # given a member on their workspace's host
    client = client_for(workspace)
    # when they log in
    response = client.post("/login/", {"username": member.email, "password": PASSWORD}, **headers("rid-login"))
    # then the workspace records it
    assert response.status_code == 302
    _from_request(one(workspace, action="login"), actor_type="user", actor_label=member.email, rid="rid-login")


def test_login_with_a_wrong_password_records_login_failed(workspace, member):
    # given a member
    client = client_for(workspace)
    # when someone tries their email with a wrong password
    response = client.post("/login/", {"username": member.email, "password": "wrong"}, **headers("rid-bad-login"))
    # then login_failed is recorded (nobody proved who they are: the actor is the system), with the email tried
    assert response.status_code == 400
    failed = one(workspace, action="login_failed")
    _from_request(failed, actor_type="system", actor_label="system", rid="rid-bad-login")
    assert (failed.severity, failed.outcome, failed.details["email"]) == ("warning", "failure", member.email)
    assert events(workspace, action="login") == []


def test_login_of_a_non_member_with_the_right_password_tells_the_workspace_nothing_more(workspace, other_workspace):
    # given someone from globex, who is not a member of acme
    stranger = UserFactory(email="stranger@globex.test")
    Membership.objects.create(user=stranger, workspace=other_workspace, role=Role.MEMBER)
    # when they log in on acme's host, once with their right password and once with a wrong one
    right = client_for(workspace).post("/login/", {"username": stranger.email, "password": PASSWORD},
                                       **headers("rid-right"))
    wrong = client_for(workspace).post("/login/", {"username": stranger.email, "password": "wrong"},
                                       **headers("rid-wrong"))
    # then both are refused alike, and acme's log holds two failures it cannot tell apart
    assert right.status_code == wrong.status_code == 400
    seen = [(e.action, e.severity, e.outcome, e.actor_type, e.actor_label, e.resource_type, e.details)
            for e in events(workspace, action="login_failed")]
    assert seen == [("login_failed", "warning", "failure", "system", "system", "", {"email": stranger.email})] * 2
    # and only the platform's log says why the right password was refused, and where
    reasoned = one(None, action="login_failed")
    assert reasoned.details == {"email": stranger.email, "workspace": "acme", "reason": "not_a_member"}
    assert reasoned.request_id == "rid-right"


def test_logout_records_logout(workspace, member):
    # given a signed-in member
    client = client_for(workspace, member)
    # when they log out
    response = client.post("/logout/", **headers("rid-logout"))
    # then it is recorded
    assert response.status_code == 302
    _from_request(one(workspace, action="logout"), actor_type="user", actor_label=member.email, rid="rid-logout")


def test_password_reset_request_records_password_reset(workspace, member):
    # given a member who forgot their password
    client = client_for(workspace)
    # when they ask for a reset link
    response = client.post("/password-reset/", {"email": member.email}, **headers("rid-reset"))
    # then the request is recorded with the address it was for
    assert response.status_code == 302
    reset = one(workspace, action="password_reset")
    _from_request(reset, actor_type="system", actor_label="system", rid="rid-reset")
    assert (reset.outcome, reset.details) == ("requested", {"email": member.email})


# Members and invitations ------------------------------------------------------------------

def test_invite_records_invite_sent(workspace, owner):
    # given an owner on the members page
    client = client_for(workspace, owner)
    # when they invite someone
    response = client.post("/members/", {"email": "new@acme.test", "role": "member"}, **headers("rid-invite"))
    # then invite_sent is recorded against the invitation
    assert response.status_code == 302
    sent = one(workspace, action="invite_sent")
    _from_request(sent, actor_type="user", actor_label=owner.email, rid="rid-invite")
    assert sent.resource_type == "invitation" and sent.details == {"email": "new@acme.test", "role": "member"}


def test_invite_refused_for_a_member_records_nothing(workspace, member):
    # given a plain member
    client = client_for(workspace, member)
    # when they try to invite someone
    response = client.post("/members/", {"email": "new@acme.test", "role": "member"}, **headers())
    # then they are refused and nothing is recorded
    assert response.status_code == 403
    assert events(workspace, action="invite_sent") == []


def test_accepting_an_invitation_records_invite_accepted(workspace, owner):
    # given a pending invitation
    _, token = invitation_create(workspace=workspace, email="joiner@acme.test", role=Role.MEMBER,
                                 actor=Membership.objects.get(user=owner))
    # when the invitee accepts it, creating their account
    response = client_for(workspace).post(f"/invite/{token}/", {"password": PASSWORD, "full_name": "J"},
                                          **headers("rid-accept"))
    # then invite_accepted is recorded, by the new member
    assert response.status_code == 302
    accepted = one(workspace, action="invite_accepted")
    _from_request(accepted, actor_type="user", actor_label="joiner@acme.test", rid="rid-accept")


def test_revoking_an_invitation_records_invite_revoked(workspace, owner):
    # given a pending invitation
    invitation, _ = invitation_create(workspace=workspace, email="gone@acme.test", role=Role.MEMBER,
                                      actor=Membership.objects.get(user=owner))
    # when the owner withdraws it
    response = client_for(workspace, owner).post(f"/invitations/{invitation.pk}/revoke/", **headers("rid-revoke"))
    # then it is recorded
    assert response.status_code == 302
    _from_request(one(workspace, action="invite_revoked"), actor_type="user", actor_label=owner.email,
                  rid="rid-revoke")
    assert Invitation.objects.get(pk=invitation.pk).revoked_at is not None


def test_changing_a_role_records_role_changed(workspace, owner, member):
    # given an owner and a member
    target = Membership.objects.get(user=member)
    # when the owner makes the member a manager
    response = client_for(workspace, owner).post(f"/members/{target.pk}/role/", {"role": "manager"},
                                                 **headers("rid-role"))
    # then role_changed is recorded with both roles
    assert response.status_code == 302
    changed = one(workspace, action="role_changed")
    _from_request(changed, actor_type="user", actor_label=owner.email, rid="rid-role")
    assert changed.details == {"member": member.email, "from": "member", "to": "manager"}
    assert (changed.resource_type, changed.resource_id) == ("membership", str(target.pk))


def test_role_change_refused_records_nothing(workspace, manager, member):
    # given a manager (who may not change roles)
    target = Membership.objects.get(user=member)
    # when they try
    client_for(workspace, manager).post(f"/members/{target.pk}/role/", {"role": "admin"}, **headers())
    # then the role is unchanged and nothing is recorded
    assert Membership.objects.get(pk=target.pk).role == Role.MEMBER
    assert events(workspace, action="role_changed") == []


def test_suspending_and_reactivating_record_their_events(workspace, owner, member):
    # given an active member
    target = Membership.objects.get(user=member)
    client = client_for(workspace, owner)
    # when the owner suspends, then reactivates them
    client.post(f"/members/{target.pk}/suspend/", **headers("rid-suspend"))
    client.post(f"/members/{target.pk}/reactivate/", **headers("rid-reactivate"))
    # then both are recorded, the suspension as a warning
    suspended = one(workspace, action="member_suspended")
    _from_request(suspended, actor_type="user", actor_label=owner.email, rid="rid-suspend")
    assert suspended.severity == "warning"
    _from_request(one(workspace, action="member_reactivated"), actor_type="user", actor_label=owner.email,
                  rid="rid-reactivate")


def test_removing_a_member_records_member_removed(workspace, owner, member):
    # given a member
    target = Membership.objects.get(user=member)
    # when the owner removes them
    client_for(workspace, owner).post(f"/members/{target.pk}/remove", **headers("rid-remove"))
    # then it is recorded
    removed = one(workspace, action="member_removed")
    _from_request(removed, actor_type="user", actor_label=owner.email, rid="rid-remove")
    assert not Membership.objects.filter(pk=target.pk).exists()


# API keys ---------------------------------------------------------------------------------

def _bearer(text: str) -> dict:
    return {"HTTP_AUTHORIZATION": f"Bearer {text}", **headers()}


def test_creating_a_key_through_the_api_records_key_created(workspace, admin_key, api_client):
    # given an admin key
    row, text = admin_key
    # when it creates another key
    response = api_client.post("/api/v1/keys", {"name": "ci"}, format="json",
                               **{**_bearer(text), "HTTP_X_REQUEST_ID": "rid-key-create"})
    # then key_created is recorded with the calling key as actor
    assert response.status_code == 201
    created = [e for e in events(workspace, action="key_created") if e.request_id == "rid-key-create"]
    assert len(created) == 1
    _from_request(created[0], actor_type="api_key", actor_label=row.prefix, rid="rid-key-create")
    assert created[0].details["name"] == "ci"


def test_key_creation_refused_records_nothing(workspace, admin_key, api_client):
    # given an admin key
    _, text = admin_key
    before = len(events(workspace, action="key_created"))
    # when it asks for a key with an unknown scope
    response = api_client.post("/api/v1/keys", {"name": "ci", "scopes": ["root"]}, format="json", **_bearer(text))
    # then it is refused and nothing is recorded
    assert response.status_code == 400
    assert len(events(workspace, action="key_created")) == before


def test_revoking_a_key_records_key_revoked(workspace, admin_key, api_key, api_client):
    # given a key to revoke
    target, _ = api_key
    admin_row, text = admin_key
    # when the admin key revokes it
    response = api_client.post(f"/api/v1/keys/{target.key_id}/revoke",
                               **{**_bearer(text), "HTTP_X_REQUEST_ID": "rid-key-revoke"})
    # then it is recorded, as a warning
    assert response.status_code == 200
    revoked = one(workspace, action="key_revoked")
    _from_request(revoked, actor_type="api_key", actor_label=admin_row.prefix, rid="rid-key-revoke")
    assert (revoked.severity, revoked.resource_id) == ("warning", str(target.pk))


def test_rotating_a_key_records_key_rotated(workspace, admin_key, api_key, api_client):
    # given a key to rotate
    target, _ = api_key
    admin_row, text = admin_key
    # when the admin key rotates it
    response = api_client.post(f"/api/v1/keys/{target.key_id}/rotate", {"grace_period": 0}, format="json",
                               **{**_bearer(text), "HTTP_X_REQUEST_ID": "rid-key-rotate"})
    # then it is recorded with the old and new prefixes
    assert response.status_code == 201
    rotated = one(workspace, action="key_rotated")
    _from_request(rotated, actor_type="api_key", actor_label=admin_row.prefix, rid="rid-key-rotate")
    assert rotated.details["old"] == target.prefix and rotated.details["new"] == response.json()["prefix"]


# Operators (Django admin) and domains --------------------------------------------------------

def test_suspending_a_workspace_in_admin_records_workspace_suspended(workspace, operator):
    # given an operator in Django admin
    client = client_for(None, operator)
    # when they suspend a workspace, then reactivate it
    for action, rid in (("suspend", "rid-ws-suspend"), ("reactivate", "rid-ws-reactivate")):
        response = client.post("/admin/tenants/workspace/", {"action": action, "_selected_action": [workspace.pk]},
                               **headers(rid))
        assert response.status_code == 302
    # then the platform records both, by the operator
    suspended = one(None, action="workspace_suspended")
    _from_request(suspended, actor_type="operator", actor_label=operator.email, rid="rid-ws-suspend")
    assert suspended.resource_id == str(workspace.pk)
    _from_request(one(None, action="workspace_reactivated"), actor_type="operator", actor_label=operator.email,
                  rid="rid-ws-reactivate")
    assert Workspace.objects.get(pk=workspace.pk).status == "active"


def test_admin_suspend_by_a_non_operator_records_nothing(workspace, owner):
    # given a workspace owner who is not an operator
    client = client_for(None, owner)
    # when they post the admin's suspend action
    response = client.post("/admin/tenants/workspace/", {"action": "suspend", "_selected_action": [workspace.pk]},
                           **headers())
    # then they are sent to the admin login, and nothing happens
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
    assert events(None, action="workspace_suspended") == []


def _through_request(fn, rid: str):
    """Run `fn` inside the real request-id middleware, as a view would (no page adds domains yet)."""
    def view(request):
        fn()
        return HttpResponse(status=204)

    RequestIdMiddleware(view)(RequestFactory().post("/", **headers(rid)))


def test_adding_and_verifying_a_domain_record_their_events(workspace, operator, settings):
    # given a workspace, and DNS (a server on loopback) holding the domain's TXT record
    from branding.domains import record_name, record_value
    from tests.branding.dns_server import LoopbackDns

    dns = LoopbackDns().start()
    settings.DNS_NAMESERVERS, settings.DNS_PORT, settings.DNS_TIMEOUT = ["127.0.0.1"], dns.port, 1.0
    try:
        # when a domain is added (service) and an operator checks its DNS record in admin
        _through_request(lambda: domain_add(workspace=workspace, domain="api.acme.test", actor=("operator", operator)),
                         "rid-domain-add")
        domain = workspace.domains.get(domain="api.acme.test")
        dns.records[record_name(domain)] = [record_value(domain)]
        response = client_for(None, operator).post("/admin/tenants/domain/",
                                                   {"action": "check_dns", "_selected_action": [domain.pk]},
                                                   **headers("rid-domain-verify"))
    finally:
        dns.stop()
    # then the workspace records both
    assert response.status_code == 302
    _from_request(one(workspace, action="domain_added"), actor_type="operator", actor_label=operator.email,
                  rid="rid-domain-add")
    _from_request(one(workspace, action="domain_verified"), actor_type="operator", actor_label=operator.email,
                  rid="rid-domain-verify")


# The audit trail's own -----------------------------------------------------------------------

def test_exporting_the_audit_log_records_data_exported(workspace, owner):
    # given an owner on the audit page
    client = client_for(workspace, owner)
    # when they export it as CSV
    response = client.get("/audit/export", {"format": "csv", "action": "login"}, **headers("rid-export"))
    b"".join(response.streaming_content)
    # then the export itself is on the record, with its format and filters
    exported = one(workspace, action="data_exported")
    _from_request(exported, actor_type="user", actor_label=owner.email, rid="rid-export")
    assert exported.details == {"format": "csv", "filters": {"action": "login"}}


def test_export_refused_for_a_member_records_nothing(workspace, member):
    # given a plain member (audit.export is for owners and admins)
    # when they try to export
    response = client_for(workspace, member).get("/audit/export", {"format": "csv"}, **headers())
    # then they are refused and nothing is recorded
    assert response.status_code == 403
    assert events(workspace, action="data_exported") == []
