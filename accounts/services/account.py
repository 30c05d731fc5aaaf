"""A person's own account: their name, their password, their signed-in sessions."""

from django.db import transaction

from accounts.models import User, UserSession
from accounts.services.users import _clean_password
from auditing.services import record
from core.errors import InvalidInput
from tenants.models import Workspace


def user_update_profile(*, user: User, full_name: str, workspace: Workspace | None = None) -> User:
    """Change the name members see next to the person's email. Raises InvalidInput past 150 characters."""
    full_name = (full_name or "").strip()
    if len(full_name) > 150:
        raise InvalidInput("Keep your name under 150 characters.", field="full_name")
    if full_name == user.full_name:
        return user
    with transaction.atomic(durable=True):
        old = user.full_name
        user.full_name = full_name
        user.save(update_fields=["full_name"])
        record(action="profile_updated", actor=user, resource=user, workspace=workspace,
               details={"from": old, "to": full_name})
    return user


def user_change_password(*, user: User, old_password: str, new_password: str, keep_session_key: str | None,
                         workspace: Workspace | None = None) -> int:
    """Set a new password after checking the current one, and sign out every other session
    (a changed password is usually a suspicion). Returns how many sessions were ended.

    Raises InvalidInput (field old_password) for a wrong current password, InvalidInput (field
    new_password) for one the validators refuse.
    """
    if not user.check_password(old_password or ""):
        raise InvalidInput("Your current password is not right.", field="old_password")
    try:
        _clean_password(new_password, user)
    except InvalidInput as exc:
        raise InvalidInput(exc.detail, field="new_password") from exc
    with transaction.atomic(durable=True):
        user.set_password(new_password)
        user.save(update_fields=["password"])
        ended = _end_sessions(user=user, keep_session_key=keep_session_key)
        record(action="password_changed", actor=user, resource=user, workspace=workspace,
               details={"other_sessions_ended": ended})
    return ended


def user_sessions_end_others(*, user: User, keep_session_key: str | None, workspace: Workspace | None = None) -> int:
    """Sign the person out of every session but `keep_session_key` (this browser). Returns how many."""
    with transaction.atomic(durable=True):
        ended = _end_sessions(user=user, keep_session_key=keep_session_key)
        record(action="sessions_ended", actor=user, resource=user, workspace=workspace, details={"ended": ended})
    return ended


def _end_sessions(*, user: User, keep_session_key: str | None) -> int:
    rows = UserSession.objects.select_for_update().filter(user_id=user.pk).exclude(session_key=keep_session_key or "")
    keys = list(rows.values_list("session_key", flat=True))
    store = UserSession.get_session_store_class()
    for key in keys:
        # The store's delete: the cached copy goes with the row (cached_db), at once.
        store(session_key=key).delete(key)
    return len(keys)
