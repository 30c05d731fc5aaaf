"""Celery tasks of branding: the daily recheck of verified custom domains."""

import logging

from celery import shared_task

from branding.domains import custom_domains_recheck

logger = logging.getLogger(__name__)


def _recheck_domains_failure(self, exc, task_id, args, kwargs, einfo):
    logger.error("custom domain recheck failed: %s", exc)


@shared_task(bind=True, on_failure=_recheck_domains_failure)
def recheck_domains(self) -> dict[str, int]:
    """Look up every verified domain's TXT record again (beat: config/celery.py, daily)."""
    counts = custom_domains_recheck()
    logger.info("custom domains rechecked: %s", counts)
    return counts
