"""Celery tasks of billing. Thin: one service call each, retries here."""

from celery import shared_task
from django.utils import timezone

from billing import spend_cap
from billing.invoicing import close


@shared_task(ignore_result=True)
def close_periods() -> dict:
    """Open drafts for the month that ended, finalise drafts past their window (config/celery.py)."""
    report = close.period_close(now=timezone.now())
    return {"opened": report.opened, "finalised": report.finalised}


@shared_task(ignore_result=True)
def spend_cap_alerts() -> int:
    return spend_cap.spend_alerts_check(now=timezone.now())
