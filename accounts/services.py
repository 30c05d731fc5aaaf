"""Writes for users, memberships and invitations. One transaction per service."""

import secrets
from datetime import timedelta

from django.conf import settings
from django.contrib.auth.password_validation import validate_password
from django.core import signing
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.mail import send_mail
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.utils import timezone

from accounts import limits
from accounts.errors import InvitationInvalid, LastOwner, NotAllowed
from accounts.models import Invitation, Membership, User, normalize_email
from accounts.permissions import RANK, Role, can, can_assign
from accounts.selectors import invitation_by_token, lock_owners, token_digest, user_by_email
from auditing.services import record
from core.errors import Conflict, InvalidInput
from tenants.selectors import workspace_url
from tenants.services import workspace_create, workspace_provisioning_lock

HANDOFF_MAX_AGE = 60


def _clean_email(email: str, field: str = "email") -> str:
    email = normalize_email(email)
    try:
        validate_email(email)
    except ValidationError as exc:
        raise InvalidInput("Enter a valid email address.", field=field) from exc
    return email


def _clean_password(password: str, user: User | None = None) -> None:
    try:
        validate_password(password, user)
    except ValidationError as exc:
        raise InvalidInput(" ".join(exc.messages), field="password") from exc


def user_create(*, email: str, password: str, full_name: str = "") -> User:
    email = _clean_email(email)
    if user_by_email(email=email):
        raise Conflict("An account with this email already exists. Log in instead.", field="email")
    candidate = User(email=email, full_name=full_name.strip()[:150])
    _clean_password(password, candidate)
    try:
        with transaction.atomic():
            return User.objects.create_user(email=email, password=password, full_name=candidate.full_name)
    except IntegrityError as exc:
        # The same email committed meanwhile by a concurrent request (a form submitted twice).
        raise Conflict("An account with this email already exists. Log in instead.", field="email") from exc


def signup(*, email: str, password: str, full_name: str, workspace_name: str, slug: str):
    """User + workspace + owner membership, all or nothing.

    Raises InvalidInput / Conflict with a `field` naming the bad input.
    """
    with transaction.atomic(durable=True):
        # Before the user row: signups that wrote theirs, then waited on each other for the
        # lock making the workspace's schema takes, deadlocked.
        workspace_provisioning_lock()
        user = user_create(email=email, password=password, full_name=full_name)
        workspace = workspace_create(name=workspace_name, slug=slug, actor=user)
        Membership.objects.create(user=user, workspace=workspace, role=Role.OWNER)
        record(action="user_signup", actor=user, resource=user, details={"workspace": workspace.slug})
    return user, workspace


def membership_create(*, user: User, workspace, role: str = Role.MEMBER, actor=None) -> Membership:
    if role not in Role.values:
        raise InvalidInput(f"Unknown role {role!r}.", field="role")
    if Membership.objects.filter(user=user, workspace=workspace).exists():
        raise Conflict(f"{user.email} is already a member of this workspace.", field="email")
    limits.check_member_limit(workspace=workspace)
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


def invitation_create(*, workspace, email: str, role: str, actor: Membership) -> tuple[Invitation, str]:
    """Invite `email` as `role`; returns the invitation and its one-time token (emailed)."""
    _require(actor, "members.invite")
    email = _clean_email(email)
    if role not in Role.values:
        raise InvalidInput(f"Unknown role {role!r}.", field="role")
    if not can_assign(actor.role, None, role):
        raise NotAllowed("Only an owner can invite another owner.")
    if Membership.objects.filter(workspace=workspace, user__email__iexact=email).exists():
        raise Conflict(f"{email} is already a member of this workspace.", field="email")
    limits.check_member_limit(workspace=workspace)
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
    context = {"invitation": invitation, "url": url}
    send_mail(
        subject=f"You're invited to {invitation.workspace.name} on Tollgate",
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


def invitation_check(*, token: str, workspace) -> Invitation:
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


def invitation_accept(*, token: str, workspace, user: User | None = None, password: str = "", full_name: str = ""):
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


def handoff_issue(*, user: User, workspace) -> str:
    """A 60-second, single-use token that signs `user` in on the workspace's own host."""
    return signing.dumps({"u": user.pk, "w": workspace.pk, "n": secrets.token_hex(8)}, salt="tollgate.handoff")


def handoff_redeem(*, token: str, workspace) -> User | None:
    try:
        data = signing.loads(token, salt="tollgate.handoff", max_age=HANDOFF_MAX_AGE)
    except signing.BadSignature:
        return None
    if data.get("w") != workspace.pk or not cache.add(f"handoff:{data['n']}", 1, timeout=HANDOFF_MAX_AGE * 2):
        return None
    membership = Membership.objects.filter(
        user_id=data["u"], workspace=workspace, status=Membership.Status.ACTIVE, user__is_active=True
    ).select_related("user").first()
    return membership.user if membership else None


def user_erase(*, user: User, actor=None) -> dict[str, int]:
    """Erase a person: account anonymised and disabled, memberships and pending invitations
    gone, audit trail pseudonymised (auditing keeps the events and a valid hash chain).

    Raises LastOwner when they are the last owner of a workspace: it would be left ownerless.
    Returns audit rows pseudonymised per schema.
    """
    from auditing.services import audit_subject_erase
    from tenants.selectors import audit_schemas

    email = user.email
    with transaction.atomic(durable=True):
        for membership in Membership.objects.filter(user=user).select_related("workspace").order_by("pk"):
            try:
                _ensure_another_owner(membership)
            except LastOwner:
                raise LastOwner(f"{email} is the last owner of {membership.workspace.name}. "
                                "Make someone else an owner first.")
        Membership.objects.filter(user=user).delete()
        Invitation.objects.filter(email__iexact=email, accepted_at=None, revoked_at=None).update(revoked_at=timezone.now())
        user.email = f"erased-{user.pk}@erased.invalid"
        user.full_name = ""
        user.is_active = False
        user.is_staff = False
        user.is_superuser = False
        user.set_unusable_password()
        user.save()
        return audit_subject_erase(user_id=user.pk, email=email, schemas=audit_schemas(), actor=actor)
