"""Users: creation, the hand-off between the public site and a workspace's host, erasure."""

import secrets

from django.contrib.auth.password_validation import validate_password
from django.core import signing
from django.core.cache import cache
from django.core.exceptions import ValidationError
from django.core.validators import validate_email
from django.db import IntegrityError, transaction
from django.utils import timezone

from accounts.errors import LastOwner
from accounts.models import Invitation, Membership, SignupRequest, User, normalize_email
from accounts.selectors import (
    user_by_email,
)
from accounts.services.members import _ensure_another_owner
from core.errors import Conflict, InvalidInput
from core.types import Actor
from tenants.models import Workspace

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


def user_create(*, email: str, password: str | None, full_name: str = "") -> User:
    """A new account. `password` None: none yet (an operator made it; they choose one through the
    password-reset link). Raises InvalidInput for a bad email or password, Conflict for a taken one."""
    email = _clean_email(email)
    if user_by_email(email=email):
        raise Conflict("An account with this email already exists. Log in instead.", field="email")
    candidate = User(email=email, full_name=full_name.strip()[:150])
    if password is not None:
        _clean_password(password, candidate)
    try:
        with transaction.atomic():
            return User.objects.create_user(email=email, password=password, full_name=candidate.full_name)
    except IntegrityError as exc:
        # The same email committed meanwhile by a concurrent request (a form submitted twice).
        raise Conflict("An account with this email already exists. Log in instead.", field="email") from exc


def handoff_issue(*, user: User, workspace: Workspace) -> str:
    """A 60-second, single-use token that signs `user` in on the workspace's own host."""
    return signing.dumps({"u": user.pk, "w": workspace.pk, "n": secrets.token_hex(8)}, salt="tollgate.handoff")


def handoff_redeem(*, token: str, workspace: Workspace) -> User | None:
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


def user_erase(*, user: User, actor: Actor = None) -> dict[str, int]:
    """Erase a person: account anonymised and disabled, memberships, pending invitations and
    signup requests gone, audit trail pseudonymised (auditing keeps the events and a valid hash chain).

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
        SignupRequest.objects.filter(email__iexact=email).delete()  # their name and password hash too
        user.email = f"erased-{user.pk}@erased.invalid"
        user.full_name = ""
        user.is_active = False
        user.is_staff = False
        user.is_superuser = False
        user.set_unusable_password()
        user.save()
        return audit_subject_erase(user_id=user.pk, email=email, schemas=audit_schemas(), actor=actor)
