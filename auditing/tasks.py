"""Celery tasks of the audit trail: critical-event email and retention."""

import logging

from celery import shared_task
from django.conf import settings
from django_tenants.utils import get_public_schema_name

from auditing import services

logger = logging.getLogger(__name__)


def _recipients(schema_name: str) -> list[str]:
    """Owners of the workspace behind `schema_name`; operators (ADMINS) for platform events."""
    if schema_name == get_public_schema_name():
        return [email for _name, email in settings.ADMINS]
    # A task is an entry point: it may compose accounts' selectors with auditing's service.
    from accounts.selectors import owners_of
    from tenants.models import Workspace

    workspace = Workspace.objects.filter(schema_name=schema_name).first()
    return [user.email for user in owners_of(workspace=workspace)] if workspace else []


def _notify_critical_event_failure(self, exc, task_id, args, kwargs, einfo):
    logger.error("critical audit event email failed for %s: %s", kwargs, exc)


@shared_task(bind=True, max_retries=5, default_retry_delay=60, on_failure=_notify_critical_event_failure)
def notify_critical_event(self, *, schema_name: str, event_id: int) -> int:
    try:
        return services.critical_event_notify(schema_name=schema_name, event_id=event_id,
                                              recipients=_recipients(schema_name))
    except OSError as exc:  # SMTP down: try again later
        raise self.retry(exc=exc)


def _apply_retention_failure(self, exc, task_id, args, kwargs, einfo):
    logger.error("audit retention failed: %s", exc)


@shared_task(bind=True, on_failure=_apply_retention_failure)
def apply_retention(self) -> dict[str, int]:
    return services.audit_retention_apply()
