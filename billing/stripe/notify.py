"""Emails to a workspace's owners about its subscription, sent after the change commits
(billing/stripe/tasks.py sends them; templates/emails/billing_<kind>.txt). Links come from the
configured site URL (tenants.selectors.workspace_url), never from a request."""

import logging
from datetime import datetime, timedelta

from celery import shared_task
from django.conf import settings
from django.core.mail import send_mail
from django.db import transaction
from django.template.loader import render_to_string

from accounts.selectors import owner_emails
from billing.models import Subscription
from tenants.models import Workspace
from tenants.selectors import workspace_url

logger = logging.getLogger(__name__)

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


def _billing_email_failure(self, exc, task_id, args, kwargs, einfo):
    logger.error("billing email failed for %s: %s", kwargs, exc)


@shared_task(bind=True, max_retries=5, default_retry_delay=60, on_failure=_billing_email_failure)
def billing_email(self, *, workspace_id: int, kind: str, context: dict) -> int:
    """Email the owners of the workspace about its subscription (billing/stripe/notify.py)."""
    workspace = Workspace.objects.filter(pk=workspace_id).first()
    recipients = owner_emails(workspace=workspace) if workspace else []
    if not recipients:
        return 0
    for key in ("ends_at", "grace_ends"):
        if context.get(key):
            context[key] = datetime.fromisoformat(context[key])
    body = render_to_string(f"emails/billing_{kind}.txt", {
        **context, "workspace": workspace, "billing_url": workspace_url(workspace, "/billing/")})
    try:
        return send_mail(SUBJECTS[kind].format(workspace=workspace.name), body, None, recipients)
    except OSError as exc:  # SMTP down: try again later
        raise self.retry(exc=exc)
