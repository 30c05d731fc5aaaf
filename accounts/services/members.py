"""Memberships: roles, suspension and removal by members, and the operators' edits; a workspace always keeps an active owner."""


from django.db import transaction

from accounts import limits
from accounts.errors import LastOwner, NotAllowed
from accounts.models import Membership, User
from accounts.permissions import RANK, Role, can, can_assign
from accounts.selectors import (
    lock_owners,
)
from auditing.services import record
from core.errors import Conflict, InvalidInput
from core.types import Actor
from tenants.models import Workspace


def membership_create(*, user: User, workspace: Workspace, role: str = Role.MEMBER, actor: Actor = None) -> Membership:
    if role not in Role.values:
        raise InvalidInput(f"Unknown role {role!r}.", field="role")
    if Membership.objects.filter(user=user, workspace=workspace).exists():
        raise Conflict(f"{user.email} is already a member of this workspace.", field="email")
    limits.check_member_limit(workspace=workspace, email=user.email)
    with transaction.atomic(savepoint=False):
        return Membership.objects.create(user=user, workspace=workspace, role=role)


def _require(actor: Membership, action: str) -> None:
    if actor is None or not actor.is_active or not can(actor.role, action):
        raise NotAllowed("Your role does not allow this. Ask an owner or admin.")


def _ensure_another_owner(membership: Membership) -> None:
    """Refuse to leave a workspace with no active owner (call under lock_owners)."""
    owners = lock_owners(workspace=membership.workspace)
    if membership.role == Role.OWNER and membership.is_active and [o.pk for o in owners] == [membership.pk]:
        raise LastOwner("This is the workspace's last owner. Make someone else an owner first.")


def membership_change_role(*, membership: Membership, role: str, actor: Membership) -> Membership:
    _require(actor, "members.change_role")
    if role not in Role.values:
        raise InvalidInput(f"Unknown role {role!r}.", field="role")
    if not can_assign(actor.role, membership.role, role):
        raise NotAllowed("Only an owner can grant or take away the owner role.")
    if membership.role == role:
        return membership
    with transaction.atomic(durable=True):
        if RANK[role] < RANK[membership.role]:
            _ensure_another_owner(membership)
        old = membership.role
        membership.role = role
        membership.save(update_fields=["role"])
        record(action="role_changed", actor=actor.user, resource=membership, workspace=membership.workspace,
               details={"member": membership.user.email, "from": old, "to": role})
    return membership


def _check_can_manage(actor: Membership, membership: Membership, action: str) -> None:
    _require(actor, action)
    if membership.role == Role.OWNER and actor.role != Role.OWNER:
        raise NotAllowed("Only an owner can do this to another owner.")


def membership_set_status(*, membership: Membership, status: str, actor: Membership) -> Membership:
    _check_can_manage(actor, membership, "members.suspend")
    if membership.pk == actor.pk:
        raise NotAllowed("You can't suspend yourself.")
    if membership.status == status:
        return membership
    with transaction.atomic(durable=True):
        if status == Membership.Status.SUSPENDED:
            _ensure_another_owner(membership)
        membership.status = status
        membership.save(update_fields=["status"])
        action = "member_suspended" if status == Membership.Status.SUSPENDED else "member_reactivated"
        record(action=action, actor=actor.user, resource=membership, workspace=membership.workspace,
               severity="warning" if status == Membership.Status.SUSPENDED else "info",
               details={"member": membership.user.email})
    return membership


def membership_remove(*, membership: Membership, actor: Membership) -> None:
    if membership.pk != actor.pk:  # anyone may leave; removing others needs the role
        _check_can_manage(actor, membership, "members.remove")
    with transaction.atomic(durable=True):
        _ensure_another_owner(membership)
        record(action="member_removed", actor=actor.user, resource=membership, workspace=membership.workspace,
               severity="warning", details={"member": membership.user.email, "role": membership.role})
        membership.delete()


def membership_operator_update(*, membership: Membership, role: str, status: str, operator: User) -> Membership:
    """An operator's edit of a membership (Django admin): any role or status, but the workspace
    keeps an active owner, and the change is audited in the workspace as the operator's.

    Raises InvalidInput for an unknown role or status, LastOwner for the last owner.
    """
    if role not in Role.values:
        raise InvalidInput(f"Unknown role {role!r}.", field="role")
    if status not in Membership.Status.values:
        raise InvalidInput(f"Unknown status {status!r}.", field="status")
    # Not durable: Django admin runs its views in a transaction of its own; a savepoint, so a
    # refusal leaves the admin's transaction usable for its message.
    with transaction.atomic():
        current = Membership.objects.select_for_update().select_related("user", "workspace").get(pk=membership.pk)
        if (role, status) == (current.role, current.status):
            return current
        if RANK[role] < RANK[current.role] or status != Membership.Status.ACTIVE:
            _ensure_another_owner(current)
        old_role, old_status = current.role, current.status
        current.role, current.status = role, status
        current.save(update_fields=["role", "status"])
        actor = ("operator", operator)
        if role != old_role:
            record(action="role_changed", actor=actor, resource=current, workspace=current.workspace,
                   details={"member": current.user.email, "from": old_role, "to": role})
        if status != old_status:
            suspended = status == Membership.Status.SUSPENDED
            record(action="member_suspended" if suspended else "member_reactivated", actor=actor, resource=current,
                   workspace=current.workspace, severity="warning" if suspended else "info",
                   details={"member": current.user.email})
    return current


def membership_operator_remove(*, membership: Membership, operator: User) -> None:
    """An operator removes a membership (Django admin); the workspace keeps an active owner.

    Raises LastOwner for the last owner.
    """
    # Not durable: Django admin runs its views in a transaction of its own; a savepoint, so a
    # refusal leaves the admin's transaction usable for its message.
    with transaction.atomic():
        current = Membership.objects.select_related("user", "workspace").get(pk=membership.pk)
        _ensure_another_owner(current)
        record(action="member_removed", actor=("operator", operator), resource=current, workspace=current.workspace,
               severity="warning", details={"member": current.user.email, "role": current.role})
        current.delete()
