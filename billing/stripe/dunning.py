"""Dunning: a payment failed, the subscription is past_due; after BILLING_DUNNING_GRACE_DAYS the
workspace gets the free plan's limits (its plan stays: paying brings its limits back on the next
request, billing/stripe/sync.payment_apply). The dashboard says why (dunning_notice)."""

from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction

from auditing.services import record
from billing import selectors
from billing.models import Subscription
from billing.services import plan_policy
from billing.stripe import notify
from billing.stripe.sync import STRIPE
from metering import services as metering
from tenants.models import Workspace
from tenants.selectors import workspace_url

_OWED = (Subscription.Status.PAST_DUE, Subscription.Status.UNPAID)


def limited_policy(*, sub: Subscription) -> dict:
    """The free plan's policy, with a refusal message that says why and how to pay."""
    default = selectors.plan_default()
    policy = plan_policy(plan=default if default is not None else sub.plan)
    policy["upgrade"] = (f"A payment for the {sub.plan.name} plan failed: this workspace has the Free plan's limits "
                         f"until the open invoice is paid at {workspace_url(sub.workspace, '/billing/')}.")
    return policy


def dunning_apply(*, now: datetime) -> int:
    """Limit every workspace whose payment has been owed for longer than the grace period.
    Returns how many were limited now."""
    cutoff = now - timedelta(days=settings.BILLING_DUNNING_GRACE_DAYS)
    due = Subscription.objects.filter(status__in=_OWED, past_due_since__lte=cutoff, dunning_limited_at__isnull=True)
    count = 0
    for workspace_id in due.order_by("pk").values_list("workspace_id", flat=True):
        workspace = Workspace.objects.get(pk=workspace_id)
        with transaction.atomic(durable=True):
            sub = selectors.lock_subscription(workspace=workspace)
            if (sub is None or sub.status not in _OWED or sub.dunning_limited_at is not None
                    or sub.past_due_since is None or sub.past_due_since > cutoff):
                continue  # paid (or changed) meanwhile
            sub.dunning_limited_at = now
            sub.save(update_fields=["dunning_limited_at", "updated_at"])
            metering.policy_set(workspace=workspace, policy=limited_policy(sub=sub), actor=STRIPE)
            record(action="limits_changed", actor=STRIPE, severity="warning", resource=sub, workspace=workspace,
                   details={"reason": "payment_overdue", "past_due_since": sub.past_due_since.isoformat(),
                            "plan": sub.plan.slug, "limits_of": "free"})
            notify.owners(workspace=workspace, kind="dunning_limited", context={})
            count += 1
    return count


def dunning_notice(*, workspace: Workspace) -> dict | None:
    """What the dashboard's banner says (templates/billing/_dunning_banner.html), or None."""
    sub = selectors.subscription_for(workspace=workspace)
    if sub is None or sub.status not in _OWED:
        return None
    return {"plan": sub.plan.name, "since": sub.past_due_since, "limited": sub.dunning_limited_at is not None,
            "grace_ends": notify.grace_end(sub), "billing_url": "/billing/"}
