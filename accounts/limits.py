"""Member limits per plan. Billing writes the plan's limit onto the workspace
(tenants.services.workspace_set_member_limit); accounts reads it here without importing billing."""

from http import HTTPStatus

from django.conf import settings

from core.errors import DomainError


class MemberLimitReached(DomainError):
    code = "member_limit_reached"
    status = HTTPStatus(402)
    title = "Member limit reached"


def max_members(*, workspace) -> int | None:
    """The workspace's plan's member limit (None: unlimited); TOLLGATE_MAX_MEMBERS caps every
    workspace when set (an installation-wide ceiling)."""
    limits = [v for v in (workspace.member_limit, getattr(settings, "TOLLGATE_MAX_MEMBERS", None)) if v is not None]
    return min(limits) if limits else None


def check_member_limit(*, workspace, email: str = "") -> None:
    """Raises MemberLimitReached when the members and pending invitations fill the plan's limit:
    a pending invitation holds its seat, or a batch of invitations could pass the limit.
    `email`'s own pending invitation is not counted (re-inviting them, or them accepting)."""
    from django.utils import timezone

    from accounts.models import Invitation, Membership

    limit = max_members(workspace=workspace)
    if limit is None:
        return
    members = Membership.objects.filter(workspace=workspace).count()
    invitations = Invitation.objects.filter(workspace=workspace, accepted_at=None, revoked_at=None,
                                            expires_at__gt=timezone.now())
    pending = (invitations.exclude(email__iexact=email) if email else invitations).count()
    if members + pending >= limit:
        raise MemberLimitReached(
            f"Your plan allows {limit} members and this workspace has {members} "
            f"(and {pending} pending invitation{'s' if pending != 1 else ''}). An owner can upgrade the plan on "
            "the billing page (/billing/) to invite more, or revoke a pending invitation.")
