"""Reads of the platform API: operator tokens, and the reads across workspaces that only the
platform API makes (a workspace's own API sees only its own rows). Pages are keysets, newest
first, with an opaque cursor, as the audit log's (auditing.selectors)."""

import base64
import binascii
from dataclasses import dataclass
from typing import Any

from django.db.models import Count, Q, QuerySet

from accounts.models import Membership
from accounts.selectors import membership_list
from apikeys.selectors import apikey_list
from billing.models import Subscription
from operators.models import OperatorToken
from tenants.models import Workspace


def operator_token_by_id(*, token_id: str) -> OperatorToken | None:
    """One query per platform API call: operator calls are few, and a revocation then holds at
    once, with no cache to invalidate."""
    return OperatorToken.objects.filter(token_id=token_id).first()


def encode_cursor(kind: str, pk: int) -> str:
    return base64.urlsafe_b64encode(f"{kind}:{pk}".encode()).decode().rstrip("=")


def decode_cursor(kind: str, cursor: str) -> int:
    """Raises ValueError for a cursor this module did not make for `kind`."""
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise ValueError("This page cursor is not valid. Start again from the first page.")
    found, _, value = text.partition(":")
    if found != kind or not value.isdigit():
        raise ValueError("This page cursor is not valid. Start again from the first page.")
    return int(value)


@dataclass(frozen=True)
class Page:
    rows: list[Any]
    next_cursor: str | None


def _page(qs: QuerySet, *, kind: str, limit: int, cursor: str | None) -> Page:
    if cursor:
        qs = qs.filter(pk__lt=decode_cursor(kind, cursor))
    rows = list(qs.order_by("-pk")[: limit + 1])
    more = len(rows) > limit
    rows = rows[:limit]
    return Page(rows, encode_cursor(kind, rows[-1].pk) if more and rows else None)


def workspace_page(*, limit: int, cursor: str | None = None, status: str | None = None,
                   q: str | None = None) -> Page:
    """Workspaces, newest first, with their subscription's plan. Raises ValueError for a bad cursor."""
    qs = Workspace.objects.select_related("subscription__plan")
    if status:
        qs = qs.filter(status=status)
    if q:
        qs = qs.filter(Q(slug__icontains=q) | Q(name__icontains=q))
    return _page(qs, kind="w", limit=limit, cursor=cursor)


def workspace_owner_emails(*, workspaces: list[Workspace]) -> dict[int, list[str]]:
    """Each workspace's active owners' emails, in one query for a page of workspaces."""
    out: dict[int, list[str]] = {w.pk: [] for w in workspaces}
    rows = (Membership.objects.filter(workspace__in=workspaces, role="owner", status=Membership.Status.ACTIVE)
            .order_by("pk").values_list("workspace_id", "user__email"))
    for workspace_id, email in rows:
        out[workspace_id].append(email)
    return out


def member_page(*, workspace: Workspace, limit: int, cursor: str | None = None) -> Page:
    """The workspace's memberships (with users), newest first."""
    return _page(membership_list(workspace=workspace), kind="m", limit=limit, cursor=cursor)


def key_page(*, workspace: Workspace, limit: int, cursor: str | None = None) -> Page:
    """The workspace's API keys, newest first (rows: the API shows prefixes, never digests)."""
    return _page(apikey_list(workspace=workspace), kind="k", limit=limit, cursor=cursor)



def platform_counts() -> dict:
    """Workspaces by status, and active subscriptions (two queries)."""
    by_status = dict(Workspace.objects.values_list("status").annotate(n=Count("pk")).values_list("status", "n"))
    return {
        "workspaces": {"total": sum(by_status.values()), "active": by_status.get(Workspace.Status.ACTIVE, 0),
                       "suspended": by_status.get(Workspace.Status.SUSPENDED, 0)},
        "active_subscriptions": Subscription.objects.filter(status=Subscription.Status.ACTIVE).count(),
    }
