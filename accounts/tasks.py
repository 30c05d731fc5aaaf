"""Celery tasks of accounts: telling people about critical audit events."""

import logging

from celery import shared_task
from django.conf import settings
from django.core.mail import send_mail
from django.template.loader import render_to_string
from django_tenants.utils import get_public_schema_name

from accounts.selectors import owner_emails
from auditing.services import critical_event_notify
from tenants.selectors import domain_by_id, workspace_by_schema, workspace_display_name, workspace_url

logger = logging.getLogger(__name__)


def _notify_critical_event_failure(self, exc, task_id, args, kwargs, einfo):
    logger.error("critical audit event email failed for %s: %s", kwargs, exc)


@shared_task(bind=True, max_retries=5, default_retry_delay=60, on_failure=_notify_critical_event_failure)
def notify_critical_event(self, *, schema_name: str, event_id: int) -> int:
    """Email the owners of the workspace behind `schema_name` (operators, ADMINS, for platform events)."""
    name = ""
    # Links from the configured site (tenants.selectors.workspace_url), never from a request's Host.
    url = workspace_url(None, "/admin/auditing/auditevent/")
    if schema_name == get_public_schema_name():
        # ADMINS: (name, email) pairs, or plain addresses (Django 6's form)
        recipients = [admin if isinstance(admin, str) else admin[1] for admin in settings.ADMINS]
    else:
        workspace = workspace_by_schema(schema_name=schema_name)
        recipients = owner_emails(workspace=workspace) if workspace else []
        name = workspace_display_name(workspace) if workspace else ""
        url = workspace_url(workspace, "/audit/") if workspace else ""
    try:
        return critical_event_notify(schema_name=schema_name, event_id=event_id, recipients=recipients,
                                     workspace_name=name, url=url)
    except OSError as exc:  # SMTP down: try again later
        raise self.retry(exc=exc)


def critical_event_committed(*, schema_name: str, event_id: int, **kwargs) -> None:
    """auditing.signals.critical_event_committed's receiver (accounts/apps.py): queue the email."""
    notify_critical_event.delay(schema_name=schema_name, event_id=event_id)


def _notify_domain_check_failed_failure(self, exc, task_id, args, kwargs, einfo):
    logger.error("custom domain email failed for %s: %s", kwargs, exc)


@shared_task(bind=True, max_retries=5, default_retry_delay=60, on_failure=_notify_domain_check_failed_failure)
def notify_domain_check_failed(self, *, domain_id: int, failures: int, dropped: bool) -> int:
    """Email the workspace's owners that its verified custom domain failed its daily check
    (and, after DOMAIN_MAX_FAILURES in a row, was dropped). In the workspace's branding."""
    domain = domain_by_id(pk=domain_id)
    if domain is None:
        return 0
    workspace = domain.tenant
    recipients = owner_emails(workspace=workspace)
    if not recipients:
        return 0
    name = workspace_display_name(workspace)
    context = {"domain": domain, "failures": failures, "dropped": dropped, "name": name,
               "max_failures": settings.DOMAIN_MAX_FAILURES, "footer": (workspace.brand or {}).get("footer_text", ""),
               "url": workspace_url(workspace, "/branding/#domains")}
    subject = (f"[{name}] {domain.domain} no longer serves your dashboard" if dropped
               else f"[{name}] {domain.domain} failed its DNS check ({failures} of {settings.DOMAIN_MAX_FAILURES})")
    try:
        send_mail(subject=subject, message=render_to_string("emails/domain_check_failed.txt", context),
                  from_email=None, recipient_list=recipients)
    except OSError as exc:  # SMTP down: try again later
        raise self.retry(exc=exc)
    return len(recipients)


def domain_check_failed(*, domain_id: int, failures: int, dropped: bool, **kwargs) -> None:
    """tenants.signals.domain_check_failed's receiver (accounts/apps.py): queue the email."""
    notify_domain_check_failed.delay(domain_id=domain_id, failures=failures, dropped=dropped)
