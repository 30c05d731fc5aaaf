"""Celery tasks of metering. Thin: IDs in, one service call, retries here."""

import logging

from celery import shared_task
from django.core.mail import send_mail
from django.utils import timezone

from accounts.selectors import owner_emails
from auditing.services import record
from metering.pipeline import drain, partitions, reconcile
from tenants.models import Workspace
from tenants.selectors import workspace_url

logger = logging.getLogger(__name__)


@shared_task(ignore_result=True)
def drain_usage() -> int:
    return drain.drain_all()


@shared_task(ignore_result=True)
def maintain_usage_partitions() -> int:
    """Next month's raw-usage partitions made ahead, months past retention dropped."""
    return partitions.partitions_maintain_all(now=timezone.now())


@shared_task(ignore_result=True)
def reconcile_usage() -> int:
    """Reconcile the last finished hour; returns how many workspace-hours disagree."""
    return sum(1 for r in reconcile.usage_reconcile() if r.flagged)


@shared_task(ignore_result=True)
def record_refusal(*, workspace_id: int, key_id: str, meter: str, window: str, limit: int, reset: int) -> None:
    """The audit event for the first refusal of a key in a window (the Lua marker ensures once)."""
    workspace = Workspace.objects.filter(pk=workspace_id).first()
    if workspace is None:
        return
    record(action="rate_limit_exceeded", severity="warning", outcome="refused", workspace=workspace,
           resource=("api_key", key_id) if key_id else None,
           details={"key": key_id, "meter": meter, "window": window, "limit": limit, "reset": reset})


@shared_task(ignore_result=True)
def quota_alert(*, workspace_id: int, meter: str, window: str, limit: int, used: int, percent: int, reset: int) -> None:
    """Email the owners and write a quota_warning event when a quota crosses 80 % or 100 %."""
    workspace = Workspace.objects.filter(pk=workspace_id).first()
    if workspace is None:
        return
    record(action="quota_warning", severity="warning" if percent < 100 else "error", workspace=workspace,
           details={"meter": meter, "window": window, "limit": limit, "used": used, "percent": percent,
                    "reset": reset})
    owners = owner_emails(workspace=workspace)
    if owners:
        period = "credits this month" if window == "credits" else f"{meter} quota for this {window}"
        send_mail(
            subject=f"[{workspace.name}] {percent}% of your {period} used",
            message=(f"{workspace.name} has used {used} of {limit} ({percent}%) of its {period}.\n"
                     f"{'Requests over the limit are refused until it resets.' if percent >= 100 else ''}\n"
                     f"Upgrade your plan in the dashboard to raise the limit: {workspace_url(workspace, '/')}"),
            from_email=None,
            recipient_list=owners,
        )
