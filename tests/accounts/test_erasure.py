"""Erasing a person: account anonymised, access gone, audit trail pseudonymous and still valid."""

import pytest
from django.core.management import call_command
from django.core.management.base import CommandError

from accounts.errors import LastOwner
from accounts.models import Invitation, Membership
from accounts.permissions import Role
from accounts.services import invitation_create, membership_change_role, user_erase
from auditing.models import AuditEvent
from tests.conftest import add_member


def test_user_erase_anonymises_the_account_and_keeps_a_valid_pseudonymous_trail(workspace, owner, admin_user):
    # given the admin did something audited
    admin = Membership.objects.get(user=admin_user, workspace=workspace)
    member = Membership.objects.get(user=add_member(workspace, Role.MEMBER, email="m@acme.test"), workspace=workspace)
    membership_change_role(membership=member, role=Role.MANAGER, actor=admin)
    # when they are erased
    changed = user_erase(user=admin_user, actor=owner)
    # then the account can't log in and no longer names them
    admin_user.refresh_from_db()
    assert admin_user.email == f"erased-{admin_user.pk}@erased.invalid"
    assert not admin_user.is_active and not admin_user.has_usable_password()
    assert not Membership.objects.filter(user=admin_user).exists()
    # and their audit events remain, pseudonymous
    assert sum(changed.values()) >= 1
    from django_tenants.utils import schema_context

    with schema_context(workspace.schema_name):
        event = AuditEvent.objects.get(action="role_changed")
        assert "admin@acme.test" not in str(event.__dict__)
    # and every chain still verifies
    call_command("verify_audit_chain")


def test_user_erase_refuses_the_last_owner_and_changes_nothing(workspace, owner):
    with pytest.raises(LastOwner):
        user_erase(user=owner)
    owner.refresh_from_db()
    assert owner.email == "owner@acme.test" and owner.is_active
    assert Membership.objects.filter(user=owner, workspace=workspace, role=Role.OWNER).exists()


def test_user_erase_withdraws_pending_invitations_to_them(workspace, owner):
    actor = Membership.objects.get(user=owner, workspace=workspace)
    invitation, _ = invitation_create(workspace=workspace, email="later@acme.test", role=Role.MEMBER, actor=actor)
    from tests.factories import UserFactory

    invitee = UserFactory(email="later@acme.test")
    user_erase(user=invitee)
    assert Invitation.objects.get(pk=invitation.pk).revoked_at is not None


def test_erase_user_command_reports_a_last_owner_clearly(workspace, owner):
    with pytest.raises(CommandError, match="last owner of Acme"):
        call_command("erase_user", "--email", owner.email, "--yes")


def test_user_erase_removes_their_pending_signups(workspace, owner, admin_user):
    # given a signup asked for with the admin's address (it waits for its emailed link)
    from datetime import timedelta

    from django.contrib.auth.hashers import make_password
    from django.utils import timezone

    from accounts.models import SignupRequest

    SignupRequest.objects.create(email="Admin@Acme.test", workspace_name="Side", slug="side-project",
                                 password=make_password("x"), token_digest="0" * 64,
                                 expires_at=timezone.now() + timedelta(hours=1))
    # when they are erased
    user_erase(user=admin_user, actor=owner)
    # then it is gone, with the name and password hash it held
    assert not SignupRequest.objects.exists()
