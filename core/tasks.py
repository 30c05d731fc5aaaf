"""Platform tasks: the nightly backup (beat: config/celery.py).

Celery imports this module in every worker before it starts (autodiscovery); importing
core.ops.worker here connects the worker's metric handlers in each worker.
"""

import logging

from celery import shared_task

from core.ops import backups, worker  # noqa: F401  (worker: connects its signal handlers)

logger = logging.getLogger(__name__)


def _backup_nightly_failure(self, exc, task_id, args, kwargs, einfo) -> None:
    # backup_create already wrote the backup_failed audit event for each attempt.
    logger.error("nightly backup failed after %s retries: %s", self.request.retries, exc.__class__.__name__)


@shared_task(bind=True, ignore_result=True, max_retries=2, default_retry_delay=15 * 60,
             on_failure=_backup_nightly_failure)
def backup_nightly(self) -> str:
    """Back up every schema and prune old archives (beat: config/celery.py)."""
    try:
        return str(backups.backup_create(progress=False).path)
    except backups.BackupError as exc:
        raise self.retry(exc=exc)
