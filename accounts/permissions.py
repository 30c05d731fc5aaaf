"""The permission matrix: one table that dashboard pages and the API both consult."""

from django.db import models


class Role(models.TextChoices):
    OWNER = "owner", "Owner"
    ADMIN = "admin", "Admin"
    MANAGER = "manager", "Manager"
    MEMBER = "member", "Member"


RANK: dict[str, int] = {Role.MEMBER: 0, Role.MANAGER: 1, Role.ADMIN: 2, Role.OWNER: 3}

_ALL = frozenset(Role)
_MANAGER_UP = frozenset({Role.OWNER, Role.ADMIN, Role.MANAGER})
_ADMIN_UP = frozenset({Role.OWNER, Role.ADMIN})
_OWNER = frozenset({Role.OWNER})

MATRIX: dict[str, frozenset[str]] = {
    "dashboard.view": _ALL,
    "members.view": _ALL,
    "members.invite": _ADMIN_UP,
    "members.change_role": _ADMIN_UP,
    "members.suspend": _ADMIN_UP,
    "members.remove": _ADMIN_UP,
    "keys.view": _ALL,
    "keys.manage": _MANAGER_UP,
    "usage.view": _ALL,
    "audit.view": _ADMIN_UP,
    "audit.export": _ADMIN_UP,
    "billing.view": _ADMIN_UP,
    "billing.manage": _OWNER,
    "branding.manage": _ADMIN_UP,
    "workspace.manage": _OWNER,
}


# Which API key scopes each role may put on a key it creates or rotates (apikeys.services
# checks it for the key API and the dashboard alike). A key can do what its scopes allow, so
# a role may grant only scopes that do nothing its row above denies it: `admin` keys read and
# export the audit log (audit.view, audit.export), which Managers may not (issue 18, finding 2).
GRANTABLE_SCOPES: dict[str, frozenset[str]] = {
    Role.OWNER: frozenset({"read", "write", "admin"}),
    Role.ADMIN: frozenset({"read", "write", "admin"}),
    Role.MANAGER: frozenset({"read", "write"}),
    Role.MEMBER: frozenset(),  # keys.manage is Manager and up
}


def can(role: str | None, action: str) -> bool:
    """Whether `role` may do `action`. Unknown actions are refused (fail closed)."""
    return role is not None and role in MATRIX.get(action, frozenset())


def can_assign(actor_role: str, target_current: str | None, target_new: str) -> bool:
    """Admins manage members below owner; only owners grant, change or take away the owner role."""
    if not can(actor_role, "members.change_role"):
        return False
    if actor_role == Role.OWNER:
        return True
    return Role.OWNER not in (target_current, target_new)


def grantable_scopes(role: str | None) -> frozenset[str]:
    """The key scopes `role` may grant. An unknown role (or none) grants nothing (fail closed)."""
    return GRANTABLE_SCOPES.get(role, frozenset()) if role is not None else frozenset()
