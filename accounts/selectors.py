"""Reads of users, memberships and invitations, always scoped to a workspace."""

import hashlib

from django.db.models import QuerySet
from django.utils import timezone

from accounts.models import Invitation, Membership, SignupRequest, User, UserSession
from accounts.permissions import Role
from tenants.models import Workspace


def membership_for(*, user: User | None, workspace: Workspace) -> Membership | None:
    if user is None or not getattr(user, "is_authenticated", False) or workspace is None or workspace.pk is None:
        return None
    return Membership.objects.filter(user=user, workspace=workspace).select_related("user").first()


def membership_list(*, workspace: Workspace) -> QuerySet[Membership]:
    return Membership.objects.filter(workspace=workspace).select_related("user").order_by("created_at")


def membership_get(*, workspace: Workspace, membership_id: int) -> Membership | None:
    """Another workspace's membership is simply not found."""
    return Membership.objects.filter(workspace=workspace, pk=membership_id).select_related("user").first()


def lock_owners(*, workspace: Workspace) -> list[Membership]:
    """Row-lock the workspace's active owners, ordered by pk so concurrent demotions can't deadlock."""
    return list(
        Membership.objects.select_for_update()
        .filter(workspace=workspace, role=Role.OWNER, status=Membership.Status.ACTIVE)
        .order_by("pk")
    )


def workspaces_of(*, user: User) -> QuerySet[Membership]:
    return (
        Membership.objects.filter(user=user, status=Membership.Status.ACTIVE, workspace__status="active")
        .select_related("workspace")
        .order_by("workspace__name")
    )


def owners_of(*, workspace: Workspace) -> list[User]:
    return [
        m.user
        for m in Membership.objects.filter(workspace=workspace, role=Role.OWNER, status=Membership.Status.ACTIVE)
        .select_related("user")
    ]


def owner_emails(*, workspace: Workspace) -> list[str]:
    """Where a workspace's alerts go: its active owners' addresses."""
    return [user.email for user in owners_of(workspace=workspace)]


def user_by_email(*, email: str) -> User | None:
    return User.objects.filter(email__iexact=(email or "").strip()).first()


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


def invitation_by_token(*, token: str) -> Invitation | None:
    return Invitation.objects.filter(token_digest=token_digest(token)).select_related("workspace").first()


def signup_request_by_token(*, token: str) -> SignupRequest | None:
    return SignupRequest.objects.filter(token_digest=token_digest(token)).first()


def invitation_list_pending(*, workspace: Workspace) -> list[Invitation]:
    return [i for i in Invitation.objects.filter(workspace=workspace, accepted_at=None, revoked_at=None) if i.is_pending]


def invitation_pending_for(*, workspace: Workspace, email: str) -> bool:
    """Whether `email` has an invitation to `workspace` that can still be accepted."""
    return Invitation.objects.filter(
        workspace=workspace, email__iexact=email, accepted_at=None, revoked_at=None, expires_at__gt=timezone.now()
    ).exists()


def invitation_get(*, workspace: Workspace, invitation_id: int) -> Invitation | None:
    return Invitation.objects.filter(workspace=workspace, pk=invitation_id).first()


def user_session_list(*, user: User) -> list[UserSession]:
    """The person's signed-in sessions that have not expired, most recently active first."""
    return list(UserSession.objects.filter(user_id=user.pk, expire_date__gt=timezone.now()).order_by("-updated_at"))
