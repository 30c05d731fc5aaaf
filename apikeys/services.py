"""Key lifecycle: create (secret shown once), revoke, rotate. Every write goes through here,
so the rules on what a key may be given hold for the key API, the dashboard and the CLI alike:
no scope beyond what the actor may grant, no burst above the workspace's plan."""

import ipaddress
from collections.abc import Callable
from datetime import datetime, timedelta

from django.db import transaction
from django.utils import timezone

from accounts.permissions import grantable_scopes
from accounts.selectors import membership_for
from apikeys import keys
from apikeys.errors import ScopeNotGrantable
from apikeys.models import ApiKey
from apikeys.scopes import granted
from auditing.services import record
from core import invalidation
from core.errors import InvalidInput
from core.types import Actor
from tenants.models import Workspace

MAX_NAME = 100
DEFAULT_GRACE = timedelta(hours=24)
MAX_GRACE = timedelta(days=30)
# burst_limit is a PositiveIntegerField: past this PostgreSQL refuses the row (a 500 before).
MAX_BURST = 2**31 - 1
BURST_WINDOW_NAMES = {1: "second", 60: "minute"}

# The plan's burst, (limit, window seconds) or None for no burst limit, for a workspace. The
# plan lives in metering, a layer above this app (DESIGN.md, Layers): metering registers its
# reader at startup (metering.apps), so the check runs here, in the service, without importing
# upwards. Until then no key may be given a burst limit (fail closed).
_plan_burst: Callable[..., tuple[str, tuple[int, int] | None]] | None = None


def register_plan_burst(reader: Callable[..., tuple[str, tuple[int, int] | None]]) -> None:
    """reader(workspace) -> (plan name, (limit, window seconds) or None)."""
    global _plan_burst
    _plan_burst = reader


def burst_allowance(limit: int, window: int, *, key_window: int) -> int:
    """The largest burst a key with a `key_window`-second window may have under a plan burst of
    `limit` per `window` seconds: no larger a burst at once (the limit), no faster on average
    (the rate), so every request the key's window admits, the plan's would admit too."""
    return min(limit, limit * key_window // window)


def _check_burst(*, workspace: Workspace, burst_limit: int | None, burst_window: int) -> None:
    if burst_limit is None:
        return
    if _plan_burst is None:
        raise InvalidInput("Burst limits can't be checked right now: leave the burst limit empty.",
                           field="burst_limit")
    plan, ceiling = _plan_burst(workspace)
    if ceiling is not None:
        allowed = burst_allowance(*ceiling, key_window=burst_window)
        if burst_limit > allowed:
            per = BURST_WINDOW_NAMES[ceiling[1]]
            if allowed < 1:
                raise InvalidInput(
                    f"The {plan} plan allows {ceiling[0]} requests per {per}, too few for a per-"
                    f"{BURST_WINDOW_NAMES[burst_window]} burst limit: use a per-{per} window or leave it empty.",
                    field="burst_limit")
            raise InvalidInput(
                f"The burst limit is at most the plan's: the {plan} plan allows {ceiling[0]} requests per {per}, "
                f"so a key may have at most {allowed} per {BURST_WINDOW_NAMES[burst_window]}. "
                "Leave it empty to use the plan's.", field="burst_limit")
    if burst_limit > MAX_BURST:
        raise InvalidInput(f"The burst limit is at most {MAX_BURST}. Leave it empty for the plan's.",
                           field="burst_limit")


def _grantable(actor: Actor, workspace: Workspace) -> frozenset[str]:
    """The scopes `actor` may put on a key of `workspace`: for a person, what their role may
    grant there (accounts.permissions.GRANTABLE_SCOPES; no active membership grants nothing);
    for a key acting through the API, at most its own scopes. No actor, or an operator's
    ("operator", label): a script, `manage.py create_api_key`, the demo; no role to hold them to."""
    if actor is None or isinstance(actor, tuple):
        return frozenset(ApiKey.SCOPES)
    if _actor_user(actor) is not None:
        membership = membership_for(user=actor, workspace=workspace)
        return grantable_scopes(membership.role if membership is not None and membership.is_active else None)
    if getattr(getattr(actor, "workspace", None), "pk", None) == workspace.pk:
        return frozenset(granted(actor.scopes or ()))
    return frozenset()


def _check_grant(*, scopes: list[str], actor: Actor, workspace: Workspace, rotating: bool = False) -> None:
    allowed = _grantable(actor, workspace)
    for scope in scopes:
        if scope in allowed:
            continue
        who = "This key" if actor is not None and _actor_user(actor) is None else "Your role"
        if rotating:
            detail = (f"{who} can't grant the '{scope}' scope, and rotating this key would hand you a new "
                      f"'{scope}' key. Ask a workspace owner or admin to rotate it.")
        else:
            detail = (f"{who} can't grant the '{scope}' scope: a key may do only what whoever makes it may do. "
                      "Choose other scopes or ask a workspace owner or admin.")
        raise ScopeNotGrantable(detail, scope=scope, field="scopes")


def scopes_grantable_by(*, actor: Actor, workspace: Workspace) -> frozenset[str]:
    """What the dashboard offers `actor` in the scopes field (the service checks the same)."""
    return _grantable(actor, workspace)


def _clean_scopes(scopes: list[str] | tuple[str, ...] | str | None) -> list[str]:
    if isinstance(scopes, str):
        scopes = [s.strip() for s in scopes.split(",") if s.strip()]
    scopes = list(dict.fromkeys(scopes or []))
    unknown = [s for s in scopes if s not in ApiKey.SCOPES]
    if unknown:
        raise InvalidInput(f"Unknown scope {unknown[0]!r}. Use read, write or admin.", field="scopes")
    if not scopes:
        raise InvalidInput("Give the key at least one scope: read, write or admin.", field="scopes")
    return scopes


def _clean_networks(allowed_ips: list[str] | tuple[str, ...] | str | None) -> list[str]:
    if isinstance(allowed_ips, str):
        allowed_ips = [c.strip() for c in allowed_ips.replace("\n", ",").split(",") if c.strip()]
    cleaned = []
    for cidr in allowed_ips or []:
        try:
            cleaned.append(str(ipaddress.ip_network(str(cidr).strip(), strict=False)))
        except ValueError:
            raise InvalidInput(f"{cidr!r} is not an IP address or CIDR range (e.g. 203.0.113.0/24 or 2001:db8::/32).",
                               field="allowed_ips")
    return cleaned


def _actor_user(actor: Actor) -> Actor:
    return actor if getattr(actor, "_meta", None) and actor._meta.model_name == "user" else None


def apikey_create(
    *,
    workspace: Workspace,
    name: str,
    scopes: list[str] | tuple[str, ...] | str = ("read", "write"),
    environment: str = "live",
    expires_at: datetime | None = None,
    burst_limit: int | None = None,
    burst_window: int = 1,
    allowed_ips: list[str] | tuple[str, ...] | str = (),
    actor: Actor = None,
) -> tuple[ApiKey, str]:
    """Create a key; returns (row, full key text). The text is never retrievable again.

    Raises InvalidInput naming the bad field (a burst above the workspace's plan among them) and
    ScopeNotGrantable for a scope beyond what `actor` may grant.
    """
    name = (name or "").strip()
    if not name:
        raise InvalidInput("Give the key a name, e.g. 'production server'.", field="name")
    if len(name) > MAX_NAME:
        raise InvalidInput(f"Keep the name under {MAX_NAME} characters.", field="name")
    if environment not in keys.ENVIRONMENTS:
        raise InvalidInput("Environment must be live or test.", field="environment")
    if expires_at is not None and expires_at <= timezone.now():
        raise InvalidInput("The expiry must be in the future.", field="expires_at")
    if burst_limit is not None and (not isinstance(burst_limit, int) or burst_limit < 1):
        raise InvalidInput("The burst limit must be a positive whole number.", field="burst_limit")
    if burst_window not in BURST_WINDOW_NAMES:
        raise InvalidInput("The burst window is 1 (per second) or 60 (per minute).", field="burst_window")
    scopes = _clean_scopes(scopes)
    _check_grant(scopes=scopes, actor=actor, workspace=workspace)
    _check_burst(workspace=workspace, burst_limit=burst_limit, burst_window=burst_window)
    networks = _clean_networks(allowed_ips)
    key_id, secret, digest = keys.generate()
    with transaction.atomic():
        row = ApiKey.objects.create(
            workspace=workspace, name=name, key_id=key_id, environment=environment, digest=digest, scopes=scopes,
            created_by=_actor_user(actor), expires_at=expires_at, burst_limit=burst_limit, burst_window=burst_window,
            allowed_ips=networks,
        )
        record(action="key_created", actor=actor, resource=row, workspace=workspace,
               details={"prefix": row.prefix, "name": name, "scopes": scopes, "environment": environment})
    # Every process may remember this id as unknown (apikeys.cache): the key works at once everywhere.
    invalidation.publish(f"key:{key_id}")
    return row, keys.render(environment, key_id, secret)


def apikey_revoke(*, key: ApiKey, actor: Actor = None, when: datetime | None = None) -> ApiKey:
    """Revoke now (or at `when`). Every process stops accepting it within a second."""
    if key.revoked_at is not None and key.revoked_at <= timezone.now():
        return key
    with transaction.atomic(durable=True):
        key.revoked_at = when or timezone.now()
        key.save(update_fields=["revoked_at"])
        record(action="key_revoked", actor=actor, resource=key, workspace=key.workspace, severity="warning",
               details={"prefix": key.prefix, "name": key.name})
    invalidation.publish(f"key:{key.key_id}")
    return key


def apikey_rotate(*, key: ApiKey, grace: timedelta = DEFAULT_GRACE, actor: Actor = None) -> tuple[ApiKey, str]:
    """A new key with the same settings; the old one keeps working for `grace`, then stops.

    Raises InvalidInput for a revoked or expired key or a grace outside 0..30 days, and
    ScopeNotGrantable when the key has a scope `actor` may not grant.
    """
    if key.status != "active":
        raise InvalidInput(f"This key is {key.status}; only an active key can be rotated.")
    if grace < timedelta(0) or grace > MAX_GRACE:
        raise InvalidInput("The grace period is between 0 seconds and 30 days.", field="grace_period")
    # Rotating hands the actor a working secret with the key's scopes: refused (403, not 404: the
    # key is in the list they may see) when those are beyond what the actor may grant, rather than
    # rotated with fewer scopes, which would silently change what the key's users can do.
    _check_grant(scopes=key.scopes, actor=actor, workspace=key.workspace, rotating=True)
    burst_limit = key.burst_limit
    if burst_limit is not None:
        try:
            _check_burst(workspace=key.workspace, burst_limit=burst_limit, burst_window=key.burst_window)
        except InvalidInput:
            # The plan was lowered since the key was made: at request time it already gets the
            # plan's burst (metering.engine), so the new key gets exactly that, not an error.
            burst_limit = None
    with transaction.atomic(durable=True):
        new, text = apikey_create(
            workspace=key.workspace, name=key.name, scopes=key.scopes, environment=key.environment,
            expires_at=key.expires_at, burst_limit=burst_limit, burst_window=key.burst_window,
            allowed_ips=key.allowed_ips, actor=actor,
        )
        now = timezone.now()
        key.rotated_to = new
        if grace == timedelta(0):
            key.revoked_at = now
        else:
            end = now + grace
            key.expires_at = min(key.expires_at, end) if key.expires_at else end
        key.save(update_fields=["rotated_to", "revoked_at", "expires_at"])
        record(action="key_rotated", actor=actor, resource=key, workspace=key.workspace,
               details={"old": key.prefix, "new": new.prefix, "grace_seconds": int(grace.total_seconds())})
    invalidation.publish(f"key:{key.key_id}")
    return new, text
