"""Celery tasks over every workspace: the audit trail's retention."""

import logging

from celery import shared_task

from auditing.services import audit_retention_apply
from tenants.selectors import audit_schemas

logger = logging.getLogger(__name__)


def _apply_audit_retention_failure(self, exc, task_id, args, kwargs, einfo):
    logger.error("audit retention failed: %s", exc)


@shared_task(bind=True, on_failure=_apply_audit_retention_failure)
def apply_audit_retention(self) -> dict[str, int]:
    """Purge audit events past TOLLGATE_AUDIT_RETENTION_DAYS in every schema (beat: config/celery.py)."""
    return audit_retention_apply(schemas=audit_schemas())
