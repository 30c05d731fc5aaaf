"""Spend-cap alerts: email the owners and audit when this month's overage reaches 80 % and
100 % of the budget the owner set (billing.services.spend_cap_set). The refusal itself is
metering's, in the request path (a hard monthly window per overage meter); this reads the
same monthly counters (metering.selectors.limits_for, one MGET per capped workspace), off the
request path, every 5 minutes (config/celery.py)."""

import functools
import logging
from datetime import datetime

from django.core.mail import send_mail
from django.db import transaction

from accounts.selectors import owner_emails
from auditing.services import record
from billing.catalogue import terms_for
from billing.invoicing import periods
from billing.models import Subscription
from billing.rating import overage_amount
from billing.selectors import subscription_interval
from core.errors import DomainError
from metering.selectors import limits_for
from tenants.selectors import workspace_url

logger = logging.getLogger(__name__)
THRESHOLDS = (80, 100)


def _dollars(cents: int) -> str:
    return f"${cents // 100:,}.{cents % 100:02d}"


def spend_of(*, sub: Subscription) -> tuple[int, bool]:
    """(this month's overage so far in cents, whether a capped meter reached its limit) from
    the monthly counters the request path keeps."""
    terms = terms_for(sub.plan, subscription_interval(sub=sub))
    used = {item["meter"]: item for item in limits_for(workspace=sub.workspace)["limits"] if item["window"] == "month"}
    spent, at_limit = 0, False
    for meter, spec in terms.overage.items():
        item = used.get(meter)
        if item is None:
            continue
        spent += overage_amount(spec, item["used"] - terms.included.get(meter, 0))
        at_limit = at_limit or item["used"] >= item["limit"]
    return spent, at_limit


def spend_alerts_check(*, now: datetime) -> int:
    """Send the alerts due; returns how many were sent. A workspace is alerted once per
    threshold and month (Subscription.spend_alerts)."""
    period = periods.label(now.date())
    sent = 0
    for sub in (Subscription.objects.filter(spend_cap_cents__isnull=False).select_related("plan", "workspace")
                .order_by("pk")):
        if not sub.plan.overage:
            continue
        try:
            spent, at_limit = spend_of(sub=sub)
        except DomainError:  # Redis unavailable: the next run looks again
            logger.warning("spend-cap alerts skipped for %s: usage counts unavailable", sub.workspace.slug)
            continue
        cap = sub.spend_cap_cents or 0
        percent = 100 if at_limit or (cap and spent >= cap) else (spent * 100 // cap if cap else 0)
        done = sub.spend_alerts.get("percent", 0) if sub.spend_alerts.get("period") == period else 0
        due = max((t for t in THRESHOLDS if percent >= t > done), default=None)
        if due is None:
            continue
        with transaction.atomic(durable=True):
            locked = Subscription.objects.select_for_update().get(pk=sub.pk)
            locked.spend_alerts = {"period": period, "percent": due}
            locked.save(update_fields=["spend_alerts"])
            record(action="spend_cap_warning", severity="warning" if due < 100 else "error", workspace=sub.workspace,
                   resource=sub, details={"percent": due, "spent_cents": spent, "cap_cents": cap, "period": period})
            transaction.on_commit(functools.partial(_email, sub.workspace_id, due, spent, cap))
        sent += 1
    return sent


def _email(workspace_id: int, percent: int, spent: int, cap: int) -> None:
    from tenants.models import Workspace

    workspace = Workspace.objects.filter(pk=workspace_id).first()
    owners = owner_emails(workspace=workspace) if workspace else []
    if not owners or workspace is None:
        return
    after = ("Overage requests are refused until the month ends or the cap is raised." if percent >= 100
             else "At 100 % overage requests are refused until the month ends or the cap is raised.")
    send_mail(subject=f"[{workspace.name}] {percent}% of your spend cap used",
              message=(f"{workspace.name} has spent {_dollars(spent)} of its {_dollars(cap)} monthly overage budget "
                       f"({percent}%).\n{after}\nChange the cap: {workspace_url(workspace, '/billing/')}"),
              from_email=None, recipient_list=owners)
