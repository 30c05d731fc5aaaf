"""Emails to a workspace's owners about its subscription, sent after the change commits
(billing/stripe/tasks.py sends them; templates/emails/billing_<kind>.txt). Links come from the
configured site URL (tenants.selectors.workspace_url), never from a request."""

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction

from billing.models import Subscription
from tenants.models import Workspace

SUBJECTS = {
    "subscription_created": "Your {workspace} subscription has started",
    "plan_changed": "Your {workspace} plan has changed",
    "subscription_cancel_scheduled": "Your {workspace} subscription will end at the end of the period",
    "subscription_canceled": "Your {workspace} subscription has ended",
    "subscription_reactivated": "Your {workspace} subscription will continue",
    "payment_succeeded": "Payment received for {workspace}",
    "payment_failed": "Payment failed for {workspace}: action needed",
    "dunning_limited": "{workspace} is on the Free plan's limits until you pay",
}


def grace_end(sub: Subscription) -> datetime | None:
    since = sub.past_due_since
    return since + timedelta(days=settings.BILLING_DUNNING_GRACE_DAYS) if since else None


def owners(*, workspace: Workspace, kind: str, context: dict) -> None:
    """Queue the `kind` email to the owners once the current transaction commits."""
    from billing.stripe.tasks import billing_email

    if kind not in SUBJECTS:
        raise ValueError(f"unknown billing email {kind!r}")
    plain = {k: (v.isoformat() if isinstance(v, datetime) else v) for k, v in context.items()}
    transaction.on_commit(lambda: billing_email.delay(workspace_id=workspace.pk, kind=kind, context=plain))


def money(cents: int, currency: str | None) -> str:
    """Minor units as people read them: 4900 usd -> "49.00 USD" (zero-decimal currencies as they are)."""
    code = (currency or "usd").upper()
    if code.lower() in {"bif", "clp", "djf", "gnf", "jpy", "kmf", "krw", "mga", "pyg", "rwf", "vnd", "vuv", "xaf",
                        "xof", "xpf"}:
        return f"{cents} {code}"
    sign = "-" if cents < 0 else ""
    return f"{sign}{abs(cents) // 100}.{abs(cents) % 100:02d} {code}"
