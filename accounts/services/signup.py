"""Signup: confirmed by email before anything is created, never telling whether an address has an account."""

import secrets
from datetime import timedelta
from functools import partial

from django.conf import settings
from django.contrib.auth.hashers import make_password
from django.core.mail import send_mail
from django.db import IntegrityError, transaction
from django.template.loader import render_to_string
from django.utils import timezone

from accounts.errors import SignupInvalid
from accounts.models import Membership, SignupRequest, User
from accounts.permissions import Role
from accounts.selectors import (
    signup_request_by_token,
    token_digest,
    user_by_email,
)
from accounts.services.users import _clean_email, _clean_password, user_create
from auditing.services import record
from core.errors import Conflict
from tenants.models import Workspace
from tenants.selectors import workspace_url
from tenants.services import workspace_create, workspace_provisioning_lock, workspace_validate


def signup(*, email: str, password: str, full_name: str, workspace_name: str, slug: str) -> tuple[User, Workspace]:
    """User + workspace + owner membership at once, all or nothing, for callers that vouch for
    the address themselves (bench/signup). The signup page goes through signup_request and
    signup_confirm instead, so that it never tells whether an address has an account.

    Raises InvalidInput / Conflict with a `field` naming the bad input.
    """
    with transaction.atomic(durable=True):
        # Before the user row: signups that wrote theirs, then waited on each other for the
        # lock making the workspace's schema takes, deadlocked.
        workspace_provisioning_lock()
        user = user_create(email=email, password=password, full_name=full_name)
        workspace = _owned_workspace_create(user=user, name=workspace_name, slug=slug)
    return user, workspace


def _owned_workspace_create(*, user: User, name: str, slug: str) -> Workspace:
    workspace = workspace_create(name=name, slug=slug, actor=user)
    Membership.objects.create(user=user, workspace=workspace, role=Role.OWNER)
    record(action="user_signup", actor=user, resource=user, details={"workspace": workspace.slug})
    return workspace


def signup_request(*, email: str, password: str, full_name: str, workspace_name: str, slug: str,
                   plan: str = "") -> None:
    """Start a signup: email its owner a link that finishes it.

    The signup page used to say "An account with this email already exists", to anyone, for
    any address, operators' too (issue 18). Now nothing is created until the emailed link
    is followed, and the caller's answer is the same whether or not the address has an
    account: a new address gets the link (a SignupRequest holds the signup until then), an
    address with an account gets an email saying someone tried, with links to log in and
    to reset the password. Both paths validate the same inputs, hash the password and send
    one email, so neither the answer nor its cost tells them apart. Following the link also
    proves the address belongs to whoever signs up, which an immediate signup never did.

    `plan`: the slug of the plan chosen, kept with the request; whoever calls signup_confirm
    applies it (plans are billing's, a layer above: dashboard.views.public).

    Raises InvalidInput / Conflict with a `field` naming the bad input (never for the email's
    owner: a taken workspace address is public anyway, it is its subdomain).
    """
    email = _clean_email(email)
    full_name = full_name.strip()[:150]
    workspace_name, slug = workspace_validate(name=workspace_name, slug=slug)
    _clean_password(password, User(email=email, full_name=full_name))
    hashed = make_password(password)
    now = timezone.now()
    with transaction.atomic(durable=True):
        if user_by_email(email=email) is not None:
            transaction.on_commit(partial(_send_signup_existing_email, email))
            return
        # Expired requests go as new ones come: no task needed, and their email and hash go with them.
        SignupRequest.objects.filter(expires_at__lte=now).delete()
        token = secrets.token_urlsafe(32)
        pending = SignupRequest.objects.create(
            email=email, full_name=full_name, workspace_name=workspace_name, slug=slug, password=hashed,
            plan=(plan or "").strip()[:40],
            token_digest=token_digest(token), expires_at=now + timedelta(hours=settings.SIGNUP_TTL_HOURS),
        )
        url = workspace_url(None, f"/signup/confirm/{token}/")
        transaction.on_commit(partial(_send_signup_confirm_email, pending.pk, url))


def _send_signup_confirm_email(request_id: int, url: str) -> None:
    pending = SignupRequest.objects.get(pk=request_id)
    send_mail(
        subject="Confirm your email to create your Tollgate workspace",
        message=render_to_string("emails/signup_confirm.txt", {"pending": pending, "url": url}),
        from_email=None,
        recipient_list=[pending.email],
    )


def _send_signup_existing_email(email: str) -> None:
    context = {"email": email, "login_url": workspace_url(None, "/login/"),
               "reset_url": workspace_url(None, "/password-reset/")}
    send_mail(
        subject="Someone tried to sign up to Tollgate with your email",
        message=render_to_string("emails/signup_existing.txt", context),
        from_email=None,
        recipient_list=[email],
    )


def signup_check(*, token: str) -> SignupRequest:
    """The signup behind an emailed link, if it can still be finished.

    Raises SignupInvalid with a reason a person can act on.
    """
    pending = signup_request_by_token(token=token or "")
    if pending is None:
        raise SignupInvalid("This link is not valid. Check that you copied all of it.", reason="unknown")
    if pending.confirmed_at:
        raise SignupInvalid("This link has already been used. Log in instead.", reason="used")
    if pending.expires_at <= timezone.now():
        raise SignupInvalid("This link has expired. Sign up again to get a new one.", reason="expired")
    return pending


def signup_confirm(*, token: str) -> tuple[User, Workspace]:
    """Finish a signup from its emailed link: user + workspace + owner membership, all or nothing.

    Returns (user, workspace). Raises SignupInvalid (unknown, used or expired link), Conflict
    (the address got an account, or the workspace address was taken, since the signup).
    """
    with transaction.atomic(durable=True):
        workspace_provisioning_lock()  # before the user row (see signup)
        pending = signup_check(token=token)
        pending = SignupRequest.objects.select_for_update().get(pk=pending.pk)
        if pending.confirmed_at:  # lost a race with another click
            raise SignupInvalid("This link has already been used. Log in instead.", reason="used")
        if user_by_email(email=pending.email):
            raise Conflict("This address already has an account. Log in instead.")
        user = User(email=pending.email, full_name=pending.full_name)
        user.password = pending.password  # hashed when the signup was asked for
        try:
            user.save()
        except IntegrityError as exc:  # two signups of one address confirmed at the same moment
            raise Conflict("This address already has an account. Log in instead.") from exc
        workspace = _owned_workspace_create(user=user, name=pending.workspace_name, slug=pending.slug)
        pending.confirmed_at = timezone.now()
        pending.password = ""  # the account holds it now
        pending.save(update_fields=["confirmed_at", "password"])
    return user, workspace
