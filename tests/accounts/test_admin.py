"""Operators' admin for memberships: every change through accounts.services (last owner, audit)."""

from http import HTTPStatus

from django_tenants.utils import schema_context

from accounts.models import Membership
from auditing.models import AuditEvent
from tests.conftest import client_for
from tests.factories import UserFactory


def _operator_client():
    operator = UserFactory(is_staff=True, is_superuser=True)
    return operator, client_for(None, operator)


def _change(client, membership, **values):
    data = {"role": membership.role, "status": membership.status, **values}
    return client.post(f"/admin/accounts/membership/{membership.pk}/change/", data)


def test_admin_role_change_is_audited_as_the_operator(workspace, owner, member):
    # given an operator and a member
    operator, client = _operator_client()
    membership = Membership.objects.get(user=member, workspace=workspace)
    # when the operator makes them an admin
    response = _change(client, membership, role="admin")
    # then the role changed and the workspace's trail says who did it
    assert response.status_code == HTTPStatus.FOUND
    membership.refresh_from_db()
    assert membership.role == "admin"
    with schema_context(workspace.schema_name):
        event = AuditEvent.objects.filter(action="role_changed").latest("id")
    assert (event.actor_type, event.actor_label) == ("operator", operator.email)
    assert event.details == {"member": member.email, "from": "member", "to": "admin"}


def test_admin_cannot_demote_or_suspend_the_last_owner(workspace, owner):
    # given a workspace whose only owner is `owner`
    _operator, client = _operator_client()
    membership = Membership.objects.get(user=owner, workspace=workspace)
    for change in ({"role": "member"}, {"status": "suspended"}):
        # when an operator demotes them, or suspends them
        response = _change(client, membership, **change)
        # then it is refused with a message, not a success
        assert response.status_code == HTTPStatus.FOUND
        page = client.get(response["Location"]).content.decode()
        assert "last owner" in page
        assert "changed successfully" not in page
    # and nothing changed or was audited
    membership.refresh_from_db()
    assert (membership.role, membership.status) == ("owner", "active")
    with schema_context(workspace.schema_name):
        assert not AuditEvent.objects.filter(action__in=["role_changed", "member_suspended"]).exists()


def test_admin_cannot_delete_the_last_owner_and_offers_no_bulk_delete(workspace, owner, member):
    # given an operator
    _operator, client = _operator_client()
    owner_row = Membership.objects.get(user=owner, workspace=workspace)
    member_row = Membership.objects.get(user=member, workspace=workspace)
    # when they delete the last owner, then the member
    client.post(f"/admin/accounts/membership/{owner_row.pk}/delete/", {"post": "yes"})
    client.post(f"/admin/accounts/membership/{member_row.pk}/delete/", {"post": "yes"})
    bulk = client.post("/admin/accounts/membership/", {"action": "delete_selected", "_selected_action": [owner_row.pk]})
    # then the owner stays, the member is gone (audited), and the bulk action does not exist
    assert Membership.objects.filter(pk=owner_row.pk).exists()
    assert not Membership.objects.filter(pk=member_row.pk).exists()
    with schema_context(workspace.schema_name):
        assert AuditEvent.objects.filter(action="member_removed", actor_type="operator").count() == 1
    assert Membership.objects.filter(pk=owner_row.pk).exists()
    assert bulk.status_code in (HTTPStatus.OK, HTTPStatus.FOUND)
