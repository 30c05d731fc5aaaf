"""Operator tokens: create (the secret shown once), revoke; and what the platform API does that
no single lower service does: a workspace with its owner and plan. Audited as platform events."""

import ipaddress
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from accounts.models import User
from accounts.permissions import Role
from accounts.selectors import user_by_email
from accounts.services import membership_create, user_create
from auditing.services import record
from billing.models import Plan
from billing.selectors import plan_default, plan_get
from billing.services import subscription_set_plan
from core.errors import InvalidInput
from core.types import Actor
from operators import tokens
from operators.models import OperatorToken
from operators.scopes import SCOPES
from tenants.models import Workspace
from tenants.services import workspace_create, workspace_provisioning_lock

LAST_USED_EVERY = timedelta(minutes=1)


def _clean_scopes(scopes: list[str] | str | None) -> list[str]:
    if isinstance(scopes, str):
        scopes = [s.strip() for s in scopes.split(",") if s.strip()]
    scopes = list(dict.fromkeys(scopes or []))
    unknown = [s for s in scopes if s not in SCOPES]
    if unknown:
        raise InvalidInput(f"Unknown scope {unknown[0]!r}. Scopes: {', '.join(SCOPES)}.", field="scopes")
    if not scopes:
        raise InvalidInput(f"Give the token at least one scope: {', '.join(SCOPES)}.", field="scopes")
    return scopes


def _clean_networks(allowed_ips: list[str] | str | None) -> list[str]:
    if isinstance(allowed_ips, str):
        allowed_ips = [s.strip() for s in allowed_ips.split(",") if s.strip()]
    out = []
    for cidr in allowed_ips or []:
        try:
            out.append(str(ipaddress.ip_network(str(cidr).strip(), strict=False)))
        except ValueError:
            raise InvalidInput(f"{cidr!r} is not an IP address or CIDR range (e.g. 10.0.0.0/8).", field="allowed_ips")
    return list(dict.fromkeys(out))


def operator_token_create(*, name: str, scopes: list[str] | str, allowed_ips: list[str] | str | None = None,
                          expires_at: datetime | None = None, actor: Actor = None,
                          created_by_id: int | None = None) -> tuple[OperatorToken, str]:
    """A new token and its text, which is shown this once (only its digest is kept).

    Raises InvalidInput for a missing name, an unknown scope, a malformed CIDR or an expiry in the past.
    """
    name = (name or "").strip()
    if not name or len(name) > 100:
        raise InvalidInput("Name the token (up to 100 characters), e.g. after the script that uses it.", field="name")
    clean_scopes = _clean_scopes(scopes)
    networks = _clean_networks(allowed_ips)
    if expires_at is not None and expires_at <= timezone.now():
        raise InvalidInput("The expiry is in the past.", field="expires_at")
    token_id, secret, digest = tokens.generate()
    with transaction.atomic(durable=True):
        row = OperatorToken.objects.create(name=name, token_id=token_id, digest=digest, scopes=clean_scopes,
                                           allowed_ips=networks, expires_at=expires_at, created_by_id=created_by_id)
        record(action="operator_token_created", actor=actor, resource=("operator_token", row.pk),
               details={"token": row.prefix, "name": name, "scopes": clean_scopes, "allowed_ips": networks,
                        "expires_at": expires_at.isoformat() if expires_at else None})
    return row, tokens.render(token_id, secret)


def operator_token_revoke(*, token: OperatorToken, actor: Actor = None) -> OperatorToken:
    """Revoke at once (the platform API reads tokens from the database on every call)."""
    if token.revoked_at is not None:
        return token
    with transaction.atomic(durable=True):
        token.revoked_at = timezone.now()
        token.save(update_fields=["revoked_at"])
        record(action="operator_token_revoked", actor=actor, resource=("operator_token", token.pk),
               details={"token": token.prefix, "name": token.name})
    return token


def operator_token_touch(*, token: OperatorToken) -> None:
    """Note the token was used: at most one write a minute per token."""
    now = timezone.now()
    if token.last_used_at is None or now - token.last_used_at >= LAST_USED_EVERY:
        OperatorToken.objects.filter(pk=token.pk).update(last_used_at=now)


def platform_workspace_create(*, name: str, slug: str, owner_email: str, plan: str | None = None,
                              actor: Actor = None) -> tuple[Workspace, User, bool]:
    """A workspace with its owner (an existing account, or a new one without a password) on `plan`
    (default: the default plan), in one transaction, as `manage.py create_workspace` makes it.
    Returns (workspace, owner, whether the owner's account was made now).

    Raises InvalidInput (name, slug, email, plan) or Conflict (slug taken).
    """
    plan_slug = plan
    if plan_slug is None:
        default = plan_default()
        plan_slug = default.slug if default is not None else None
    elif plan_get(slug=plan_slug) is None:  # before a schema is made for nothing
        known = ", ".join(p.slug for p in Plan.objects.filter(is_active=True).order_by("sort_order"))
        raise InvalidInput(f"Unknown plan {plan_slug!r}. Plans: {known}.", field="plan")
    with transaction.atomic(durable=True):
        workspace_provisioning_lock()  # before the user row: two such calls could deadlock otherwise
        owner = user_by_email(email=owner_email)
        created = owner is None
        if owner is None:
            owner = user_create(email=owner_email, password=None)
        workspace = workspace_create(name=name, slug=slug, actor=actor)
        membership_create(user=owner, workspace=workspace, role=Role.OWNER, actor=actor)
        if plan_slug:
            subscription_set_plan(workspace=workspace, plan_slug=plan_slug, actor=actor)
    return workspace, owner, created
