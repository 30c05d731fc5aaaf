"""Account pages, split by where they are served; the URL modules and settings name them here."""

from accounts.views.login import (
    LoginView,
    OperatorLoginView,
    PasswordResetView,
    logout,
    operator_login,
    throttled,
)
from accounts.views.members import (
    invitation,
    invitation_revoke,
    member_remove,
    member_role,
    member_status,
    members,
)
from accounts.views.public import go, hand_off, handoff, landing, workspaces

__all__ = [
    "LoginView", "OperatorLoginView", "PasswordResetView", "go", "hand_off", "handoff", "invitation", "invitation_revoke",
    "landing", "logout", "member_remove", "member_role", "member_status", "members", "operator_login",
    "throttled", "workspaces",
]
