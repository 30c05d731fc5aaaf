"""Invitations: create, revoke, check and accept."""

import secrets
from datetime import timedelta

from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string
from django.utils import timezone

from accounts import limits
from accounts.errors import InvitationInvalid, NotAllowed
from accounts.models import Invitation, Membership, User
from accounts.permissions import Role, can_assign
from accounts.selectors import (
    invitation_by_token,
    token_digest,
    user_by_email,
)
from accounts.services.members import _require, membership_create
from accounts.services.users import _clean_email, user_create
from auditing.services import record
from core.errors import Conflict, InvalidInput
from tenants.models import Workspace
from tenants.selectors import workspace_display_name, workspace_url


def invitation_create(*, workspace: Workspace, email: str, role: str, actor: Membership) -> tuple[Invitation, str]:
    """Invite `email` as `role`; returns the invitation and its one-time token (emailed)."""
    _require(actor, "members.invite")
    email = _clean_email(email)
    if role not in Role.values:
        raise InvalidInput(f"Unknown role {role!r}.", field="role")
    if not can_assign(actor.role, None, role):
        raise NotAllowed("Only an owner can invite another owner.")
    if Membership.objects.filter(workspace=workspace, user__email__iexact=email).exists():
        raise Conflict(f"{email} is already a member of this workspace.", field="email")
    limits.check_member_limit(workspace=workspace, email=email)
    token = secrets.token_urlsafe(32)
    now = timezone.now()
    with transaction.atomic(durable=True):
        # A new invitation replaces any pending one for the same address.
        Invitation.objects.filter(workspace=workspace, email__iexact=email, accepted_at=None, revoked_at=None).update(
            revoked_at=now
        )
        invitation = Invitation.objects.create(
            workspace=workspace, email=email, role=role, token_digest=token_digest(token), invited_by=actor.user,
            expires_at=now + timedelta(days=settings.INVITATION_TTL_DAYS),
        )
        record(action="invite_sent", actor=actor.user, resource=invitation, workspace=workspace,
               details={"email": email, "role": role})
        url = workspace_url(workspace, f"/invite/{token}/")
        transaction.on_commit(lambda: _send_invitation_email(invitation.pk, url))
    return invitation, token


def _send_invitation_email(invitation_id: int, url: str) -> None:
    invitation = Invitation.objects.select_related("workspace", "invited_by").get(pk=invitation_id)
    # In the workspace's branding (tenants.models.Workspace.brand): its company name and footer,
    # and no word of the platform's name once it has a company name of its own (white label).
    workspace = invitation.workspace
    branded = bool((workspace.brand or {}).get("company_name"))
    name = workspace_display_name(workspace) if branded else f"{workspace.name} on Tollgate"
    context = {"invitation": invitation, "url": url, "name": name,
               "footer": (workspace.brand or {}).get("footer_text", "")}
    send_mail(
        subject=f"You're invited to {name}",
        message=render_to_string("emails/invitation.txt", context),
        from_email=None,
        recipient_list=[invitation.email],
    )


def invitation_revoke(*, invitation: Invitation, actor: Membership) -> None:
    _require(actor, "members.invite")
    if invitation.accepted_at or invitation.revoked_at:
        return
    with transaction.atomic(durable=True):
        invitation.revoked_at = timezone.now()
        invitation.save(update_fields=["revoked_at"])
        record(action="invite_revoked", actor=actor.user, resource=invitation, workspace=invitation.workspace,
               details={"email": invitation.email})


def invitation_check(*, token: str, workspace: Workspace) -> Invitation:
    """The invitation behind `token` if it can be accepted in `workspace`.

    Raises InvitationInvalid with a reason a person can act on.
    """
    invitation = invitation_by_token(token=token or "")
    if invitation is None:
        raise InvitationInvalid("This invitation link is not valid. Check that you copied all of it.", reason="unknown")
    if invitation.workspace_id != workspace.pk:
        raise InvitationInvalid("This invitation is for a different workspace. Open the link from the email as it is.",
                                reason="wrong_workspace")
    if invitation.accepted_at:
        raise InvitationInvalid("This invitation has already been used. Log in instead.", reason="used")
    if invitation.revoked_at:
        raise InvitationInvalid("This invitation was withdrawn. Ask for a new one.", reason="revoked")
    if invitation.expires_at <= timezone.now():
        raise InvitationInvalid("This invitation has expired. Ask the person who invited you for a new one.",
                                reason="expired")
    return invitation


def invitation_accept(*, token: str, workspace: Workspace, user: User | None = None, password: str = "",
                      full_name: str = "") -> tuple[User, Membership]:
    """Accept as the signed-in `user`, or create the invited account with `password`.

    Returns (user, membership). Raises InvitationInvalid, InvalidInput, Conflict, NotAllowed.
    """
    with transaction.atomic(durable=True):
        invitation = invitation_check(token=token, workspace=workspace)
        invitation = Invitation.objects.select_for_update().get(pk=invitation.pk)
        if invitation.accepted_at:  # lost a race with another click
            raise InvitationInvalid("This invitation has already been used. Log in instead.", reason="used")
        if user is not None and user.is_authenticated:
            if user.email.lower() != invitation.email.lower():
                raise NotAllowed(f"This invitation is for {invitation.email}. Log out and open the link again.")
        else:
            if user_by_email(email=invitation.email):
                raise Conflict("You already have an account. Log in to accept the invitation.", field="password")
            user = user_create(email=invitation.email, password=password, full_name=full_name)
        membership = membership_create(user=user, workspace=workspace, role=invitation.role)
        invitation.accepted_at = timezone.now()
        invitation.save(update_fields=["accepted_at"])
        record(action="invite_accepted", actor=user, resource=membership, workspace=workspace,
               details={"email": user.email, "role": invitation.role})
    return user, membership
