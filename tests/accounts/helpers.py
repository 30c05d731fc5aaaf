"""Reading rendered pages and counting rows, shared by the accounts and tenants tests."""

import html
import re
import time

import pytest
from django.conf import settings
from django.db import connection
from django_ratelimit.core import _get_window, _split_rate

from accounts.models import Invitation, Membership, SignupRequest, User
from tenants.models import Workspace

_FIELD = re.compile(r'<div class="field[^"]*">\s*<label for="id_(?P<name>\w+)">(?P<body>.*?)</div>', re.DOTALL)
_FIELD_ERROR = re.compile(r'<p class="field-error" role="alert">(.*?)</p>', re.DOTALL)
_FORM_ERRORS = re.compile(r'<div class="errors" role="alert">(.*?)</div>', re.DOTALL)
_MESSAGE = re.compile(r'<li class="msg msg-(?P<level>\w+)" role="status">(?P<text>.*?)</li>', re.DOTALL)


def _text(fragment: str) -> str:
    return html.unescape(re.sub(r"<[^>]+>", "", fragment)).strip()


def field_errors(response) -> dict[str, list[str]]:
    """{field name: [messages shown next to that field]} for the form on the page."""
    page = response.content.decode()
    found = {}
    for match in _FIELD.finditer(page):
        messages = [_text(m) for m in _FIELD_ERROR.findall(match.group("body"))]
        if messages:
            found[match.group("name")] = messages
    return found


def form_errors(response) -> list[str]:
    """Errors shown above the form (not tied to one field)."""
    page = response.content.decode()
    return [_text(p) for block in _FORM_ERRORS.findall(page) for p in re.findall(r"<p>(.*?)</p>", block, re.DOTALL)]


def flash_messages(response) -> list[tuple[str, str]]:
    """[(level, text)] of the messages list at the top of the page."""
    return [(m.group("level"), _text(m.group("text"))) for m in _MESSAGE.finditer(response.content.decode())]


def workspace_schemas() -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute("SELECT nspname FROM pg_namespace WHERE nspname LIKE 'ws\\_%'")
        return {row[0] for row in cursor.fetchall()}


def row_counts() -> dict[str, int]:
    """Everything a signup, invitation or member action could change."""
    return {
        "users": User.objects.count(),
        "workspaces": Workspace.objects.count(),
        "memberships": Membership.objects.count(),
        "invitations": Invitation.objects.count(),
        "signup_requests": SignupRequest.objects.count(),
        "schemas": len(workspace_schemas()),
    }


def membership_state() -> list[tuple]:
    """Every membership's (pk, user, workspace, role, status): equal before and after means nothing changed."""
    return list(Membership.objects.order_by("pk").values_list("pk", "user_id", "workspace_id", "role", "status"))


def invitation_state() -> list[tuple]:
    return list(Invitation.objects.order_by("pk").values_list("pk", "email", "role", "accepted_at", "revoked_at"))


def drop_schemas(names) -> None:
    """Transactional tests commit their workspaces: drop the schemas they made (the flush keeps schemas)."""
    with connection.cursor() as cursor:
        for name in names:
            cursor.execute(f'DROP SCHEMA IF EXISTS "{name}" CASCADE')


# For tests whose data must be committed (threads, a live server). Tables in workspace
# schemas (auditlog's log entries) reference accounts_user, so the flush after the test
# must TRUNCATE ... CASCADE, which Django allows only with available_apps set. Use with
# the `committed_schemas` and `public_data_restored` fixtures (tests/accounts/conftest.py).
committed = pytest.mark.django_db(transaction=True, available_apps=list(settings.INSTALLED_APPS))


_REFRESH = re.compile(r'<meta http-equiv="refresh" content="0;url=([^"]+)">')


def handoff_url(response) -> str:
    """Where the public site's 'opening your workspace' page sends the browser."""
    assert response.status_code == 200, response.status_code
    match = _REFRESH.search(response.content.decode())
    assert match, "no meta refresh on the page"
    return html.unescape(match.group(1))


def steady(candidates, rate: str) -> str:
    """A key value whose rate-limit window has at least a minute left.

    django-ratelimit's windows end at a per-value offset; picking one far from its end
    keeps the counts of one test in one window, so the test can't flake on a rollover.
    """
    _, period = _split_rate(rate)
    for value in candidates:
        if _get_window(value, period) - int(time.time()) >= 60:
            return value
    raise AssertionError("no candidate with a minute left in its window")


def rate_limit(rate: str) -> int:
    """The count of a django-ratelimit rate ("5/5m" -> 5)."""
    return _split_rate(rate)[0]
