"""Dashboard pages that compose several apps; the URL modules name them here."""

from dashboard.views.overview import overview
from dashboard.views.public import legal_privacy, legal_terms, signup, signup_confirm
from dashboard.views.settings import (
    settings_delete_workspace,
    settings_leave,
    settings_page,
    settings_password,
    settings_profile,
    settings_sessions_end,
    settings_workspace,
)

__all__ = ["legal_privacy", "legal_terms", "overview", "settings_delete_workspace", "settings_leave", "settings_page",
           "settings_password", "settings_profile", "settings_sessions_end", "settings_workspace", "signup",
           "signup_confirm"]
