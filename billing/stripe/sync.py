"""Stripe's state into the workspace's Subscription: from webhooks (webhooks.py) and from the
answers of our own calls (changes.py).

Webhooks arrive late, twice and out of order. Each event carries Stripe's `created` time; the
subscription keeps the time of the last event applied to it (and, apart, to its payments), and
an older event changes nothing. A replayed event never reaches here (dj-stripe stores each
event id once), and one that does (same state again) writes no audit row, because audit rows
and emails follow changes, not events.
"""

import logging
from datetime import UTC, datetime

from django.db import transaction
from django.utils import timezone

from auditing.services import record
from billing import selectors
from billing.models import Plan, Subscription
from billing.services import plan_policy, subscription_set_plan
from billing.stripe import notify, prices
from core.types import Actor
from metering import services as metering
from tenants.models import Workspace

logger = logging.getLogger(__name__)

STRIPE: Actor = ("system", "stripe")  # who acts when a webhook changes a subscription
_ENDED = {Subscription.Status.CANCELED, Subscription.Status.INCOMPLETE_EXPIRED}
_PAYING = {Subscription.Status.ACTIVE, Subscription.Status.TRIALING, Subscription.Status.PAST_DUE,
           Subscription.Status.UNPAID}


def ts(value: int | None) -> datetime | None:
    return datetime.fromtimestamp(value, UTC) if value else None


def workspace_of(data: dict) -> Workspace | None:
    """The workspace a Stripe subscription, invoice or session belongs to: the one that holds
    its subscription or customer id, else the one our checkout named in its metadata."""
    sub_id = data.get("id") if data.get("object") == "subscription" else data.get("subscription") or ""
    customer_id = data.get("customer") or ""
    found = selectors.subscription_by_stripe(subscription_id=sub_id or "", customer_id=customer_id)
    if found is not None:
        return found.workspace
    named = (data.get("metadata") or {}).get("tollgate_workspace")
    if named and str(named).isdigit():
        workspace = Workspace.objects.filter(pk=int(named)).first()
        own = selectors.subscription_for(workspace=workspace) if workspace else None
        # Only a workspace with no Stripe customer yet, or this one, may be named (never another's).
        if workspace is not None and (own is None or own.stripe_customer_id in ("", customer_id)):
            return workspace
    return None


def _ensure(workspace: Workspace) -> Subscription:
    sub = selectors.lock_subscription(workspace=workspace)
    if sub is None:
        default = selectors.plan_default()
        if default is None:
            raise RuntimeError("no default plan: run the billing migrations")
        subscription_set_plan(workspace=workspace, plan_slug=default.slug, actor=STRIPE)
        sub = selectors.lock_subscription(workspace=workspace)
    assert sub is not None
    return sub


def is_stale(*, data: dict, at: datetime) -> bool:
    """Whether a subscription event of `at` is older than the last one applied to its workspace."""
    found = selectors.subscription_by_stripe(subscription_id=data.get("id") or "", customer_id=data.get("customer") or "")
    last = found.stripe_subscription_event_at if found is not None else None
    return last is not None and at < last


def subscription_apply(*, data: dict, at: datetime | None, actor: Actor = STRIPE) -> Subscription | None:
    """Apply a Stripe subscription object, as it was at `at` (an event's `created`; None: the
    answer of our own call, as fresh as anything we hold). Returns the Subscription, or None
    when no workspace owns it or the state is older than what was applied."""
    workspace = workspace_of(data)
    if workspace is None:
        logger.warning("Stripe subscription %s belongs to no workspace; ignored", data.get("id"))
        return None
    with transaction.atomic():
        sub = _ensure(workspace)
        if at is not None and sub.stripe_subscription_event_at is not None and at < sub.stripe_subscription_event_at:
            logger.info("Stripe subscription %s: state of %s is older than %s; ignored", data["id"], at,
                        sub.stripe_subscription_event_at)
            return None
        status = data["status"]
        new = sub.stripe_subscription_id != data["id"]
        if new and sub.stripe_subscription_id and sub.status not in _ENDED and status in _ENDED:
            return None  # an older subscription of this workspace ending: the live one stays
        item = data["items"]["data"][0]
        slug, interval = prices.plan_of(item["price"])
        before = {"status": sub.status, "cancel_at_period_end": sub.cancel_at_period_end, "plan": sub.plan.slug}
        period_end_before = sub.current_period_end

        # The plan the workspace gets now.
        plan_slug = sub.plan.slug
        if status in _ENDED:
            default = selectors.plan_default()
            plan_slug = default.slug if default else plan_slug
        elif status in _PAYING and slug is not None:
            pending = sub.pending_plan
            start = ts(item["current_period_start"])
            renewed = period_end_before is not None and start is not None and start >= period_end_before
            if pending is not None and pending.slug == slug and not renewed and not new:
                pass  # a downgrade waits for the end of the period paid for
            else:
                plan_slug = slug
        if plan_slug != sub.plan.slug or (sub.dunning_limited_at and status in (Subscription.Status.ACTIVE,
                                                                                   Subscription.Status.TRIALING)):
            subscription_set_plan(workspace=workspace, plan_slug=plan_slug, actor=actor)
            sub.refresh_from_db()

        sub.status = status
        sub.interval = interval or sub.interval
        sub.stripe_subscription_id = data["id"]
        sub.stripe_customer_id = data.get("customer") or sub.stripe_customer_id
        sub.current_period_start = ts(item.get("current_period_start"))
        sub.current_period_end = ts(item.get("current_period_end"))
        sub.cancel_at_period_end = bool(data.get("cancel_at_period_end"))
        sub.trial_end = ts(data.get("trial_end"))
        waiting = sub.pending_plan
        if waiting is not None and (plan_slug == waiting.slug or status in _ENDED or slug != waiting.slug):
            sub.pending_plan, sub.pending_interval = None, ""
        if at is not None:
            sub.stripe_subscription_event_at = at
        # Dunning: a newer successful payment outranks a past_due state from before it.
        paid_since = (sub.payment_status == "succeeded" and sub.stripe_payment_event_at is not None
                      and at is not None and sub.stripe_payment_event_at > at)
        if status in (Subscription.Status.PAST_DUE, Subscription.Status.UNPAID) and not paid_since:
            sub.past_due_since = sub.past_due_since or at or timezone.now()
        elif status not in (Subscription.Status.PAST_DUE, Subscription.Status.UNPAID):
            sub.past_due_since = None
            sub.dunning_limited_at = None
        sub.save()

        _tell(sub, workspace, before, new=new, actor=actor)
    return sub


def _tell(sub: Subscription, workspace: Workspace, before: dict, *, new: bool, actor: Actor) -> None:
    """Audit rows and owners' emails for what changed (plan_changed is subscription_set_plan's)."""
    details = {"stripe_subscription": sub.stripe_subscription_id, "plan": sub.plan.slug, "status": sub.status}
    if new and sub.status not in _ENDED:
        record(action="subscription_created", actor=actor, resource=sub, workspace=workspace,
               details={**details, "interval": sub.interval})
        notify.owners(workspace=workspace, kind="subscription_created", context={"plan": sub.plan.name})
    elif sub.status in _ENDED and before["status"] not in _ENDED:
        record(action="subscription_canceled", actor=actor, resource=sub, workspace=workspace,
               details={**details, "at_period_end": False, "from_plan": before["plan"]})
        notify.owners(workspace=workspace, kind="subscription_canceled", context={"plan": before["plan"]})
    elif sub.cancel_at_period_end and not before["cancel_at_period_end"]:
        ends = sub.current_period_end.isoformat() if sub.current_period_end else None
        record(action="subscription_canceled", actor=actor, resource=sub, workspace=workspace,
               details={**details, "at_period_end": True, "ends_at": ends})
        notify.owners(workspace=workspace, kind="subscription_cancel_scheduled",
                      context={"plan": sub.plan.name, "ends_at": sub.current_period_end})
    elif before["cancel_at_period_end"] and not sub.cancel_at_period_end and sub.status not in _ENDED:
        record(action="subscription_reactivated", actor=actor, resource=sub, workspace=workspace, details=details)
        notify.owners(workspace=workspace, kind="subscription_reactivated", context={"plan": sub.plan.name})
    if before["plan"] != sub.plan.slug and not new and sub.status not in _ENDED:
        notify.owners(workspace=workspace, kind="plan_changed", context={"from": before["plan"], "plan": sub.plan.name})


def payment_apply(*, invoice: dict, at: datetime, succeeded: bool) -> Subscription | None:
    """A Stripe invoice paid or not: audit, email, and dunning state. An older event than the
    last payment event applied, or the same outcome for the same invoice again, changes nothing."""
    workspace = workspace_of(invoice)
    if workspace is None:
        logger.warning("Stripe invoice %s belongs to no workspace; ignored", invoice.get("id"))
        return None
    outcome = "succeeded" if succeeded else "failed"
    with transaction.atomic():
        sub = _ensure(workspace)
        if sub.stripe_payment_event_at is not None and at < sub.stripe_payment_event_at:
            return None
        if sub.stripe_payment_invoice_id == invoice["id"] and sub.payment_status == outcome:
            return None  # invoice.paid and invoice.payment_succeeded both say it
        sub.stripe_payment_event_at, sub.stripe_payment_invoice_id, sub.payment_status = at, invoice["id"], outcome
        details = {"invoice": invoice["id"], "number": invoice.get("number"), "currency": invoice.get("currency"),
                   "amount_due": invoice.get("amount_due"), "amount_paid": invoice.get("amount_paid")}
        if succeeded:
            limited = sub.dunning_limited_at is not None
            sub.past_due_since = None
            sub.dunning_limited_at = None
            if sub.status in (Subscription.Status.PAST_DUE, Subscription.Status.UNPAID):
                sub.status = Subscription.Status.ACTIVE
            sub.save()
            if limited:  # the plan's limits again, from the next request on
                metering.policy_set(workspace=workspace, policy=plan_policy(plan=sub.plan, overrides=sub.overrides),
                                    actor=STRIPE)
            record(action="payment_succeeded", actor=STRIPE, resource=sub, workspace=workspace, details=details)
            notify.owners(workspace=workspace, kind="payment_succeeded",
                          context={"amount": notify.money(invoice.get("amount_paid") or 0, invoice.get("currency")),
                                   "number": invoice.get("number"), "invoice_url": invoice.get("hosted_invoice_url")})
        else:
            if sub.status in (Subscription.Status.ACTIVE, Subscription.Status.TRIALING):
                sub.status = Subscription.Status.PAST_DUE
            sub.past_due_since = sub.past_due_since or at
            sub.save()
            record(action="payment_failed", actor=STRIPE, severity="warning", resource=sub, workspace=workspace,
                   details={**details, "attempt_count": invoice.get("attempt_count")})
            notify.owners(workspace=workspace, kind="payment_failed",
                          context={"amount": notify.money(invoice.get("amount_due") or 0, invoice.get("currency")),
                                   "number": invoice.get("number"), "invoice_url": invoice.get("hosted_invoice_url"),
                                   "grace_ends": notify.grace_end(sub)})
    return sub


def customer_link(*, workspace: Workspace, customer_id: str) -> None:
    """Remember the Stripe customer of a workspace (made by checkout)."""
    with transaction.atomic():
        sub = _ensure(workspace)
        if sub.stripe_customer_id != customer_id:
            sub.stripe_customer_id = customer_id
            sub.save(update_fields=["stripe_customer_id", "updated_at"])


def plan_of_slug(slug: str) -> Plan | None:
    return selectors.plan_get(slug=slug)
