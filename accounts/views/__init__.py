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
    home,
    invitation,
    invitation_revoke,
    member_remove,
    member_role,
    member_status,
    members,
)
from accounts.views.public import go, handoff, landing, signup, signup_confirm, workspaces

__all__ = [
    "LoginView", "OperatorLoginView", "PasswordResetView", "go", "handoff", "home", "invitation", "invitation_revoke",
    "landing", "logout", "member_remove", "member_role", "member_status", "members", "operator_login", "signup",
    "signup_confirm", "throttled", "workspaces",
]
