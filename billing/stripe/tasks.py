"""Celery tasks of billing's Stripe side: owners' emails and the dunning check (beat)."""

import logging
from datetime import datetime

from celery import shared_task
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django.utils import timezone

from accounts.selectors import owner_emails
from tenants.models import Workspace
from tenants.selectors import workspace_url

logger = logging.getLogger(__name__)


def _billing_email_failure(self, exc, task_id, args, kwargs, einfo):
    logger.error("billing email failed for %s: %s", kwargs, exc)


@shared_task(bind=True, max_retries=5, default_retry_delay=60, on_failure=_billing_email_failure)
def billing_email(self, *, workspace_id: int, kind: str, context: dict) -> int:
    """Email the owners of the workspace about its subscription (billing/stripe/notify.py)."""
    from billing.stripe.notify import SUBJECTS

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


@shared_task
def dunning_check() -> int:
    """Workspaces past their grace period fall back to the free plan's limits (hourly)."""
    from billing.stripe.dunning import dunning_apply

    return dunning_apply(now=timezone.now())
