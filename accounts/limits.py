"""Member limits per plan: the hook billing fills in later (issue: plans and billing)."""

from http import HTTPStatus

from django.conf import settings

from core.errors import DomainError


class MemberLimitReached(DomainError):
    code = "member_limit_reached"
    status = HTTPStatus(402)
    title = "Member limit reached"


def max_members(*, workspace) -> int | None:
    """None means unlimited. Billing will answer from the workspace's plan."""
    return getattr(settings, "TOLLGATE_MAX_MEMBERS", None)


def check_member_limit(*, workspace) -> None:
    from accounts.models import Membership

    limit = max_members(workspace=workspace)
    if limit is not None and Membership.objects.filter(workspace=workspace).count() >= limit:
        raise MemberLimitReached(f"Your plan allows {limit} members. Upgrade to invite more.")
