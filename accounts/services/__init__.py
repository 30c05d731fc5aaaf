"""accounts.services: the writes of accounts, one transaction per service, by subject:

- users.py: accounts, the hand-off between the public site and a workspace's host, erasure;
- signup.py: signup, confirmed by email before anything exists;
- members.py: roles, suspension and removal, the operators' edits; always an active owner;
- invitations.py: invite, revoke, accept;
- account.py: a person's own name, password and sessions.

The names below are the package's interface: `from accounts.services import signup_request`.
"""

from accounts.services.account import user_change_password, user_sessions_end_others, user_update_profile
from accounts.services.invitations import invitation_accept, invitation_check, invitation_create, invitation_revoke
from accounts.services.members import (
    membership_change_role,
    membership_create,
    membership_operator_remove,
    membership_operator_update,
    membership_remove,
    membership_set_status,
)
from accounts.services.signup import signup, signup_check, signup_confirm, signup_request
from accounts.services.users import HANDOFF_MAX_AGE, handoff_issue, handoff_redeem, user_create, user_erase

__all__ = ["HANDOFF_MAX_AGE", "handoff_issue", "handoff_redeem", "invitation_accept", "invitation_check",
    "invitation_create", "invitation_revoke", "membership_change_role", "membership_create",
    "membership_operator_remove", "membership_operator_update", "membership_remove", "membership_set_status",
    "signup", "signup_check", "signup_confirm", "signup_request", "user_change_password", "user_create", "user_erase",
    "user_sessions_end_others", "user_update_profile"]
