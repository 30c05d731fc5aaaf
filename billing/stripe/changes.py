"""What a workspace's owner does to its subscription: subscribe (Checkout), manage the card
(Customer Portal), change plan, cancel, reactivate. Each asks Stripe, then applies Stripe's
answer at once (sync.subscription_apply), so the answer the caller gets is already true; the
webhook that follows finds nothing left to change.

The plan-change rule, stated in every change-plan answer (RULE): an upgrade (a price higher per
month) takes effect now, and the rest of the period is charged pro rata on an invoice now; a
downgrade takes effect at the end of the period already paid for, with nothing refunded.
"""

from dataclasses import dataclass
from datetime import datetime

import stripe
from django.db import transaction

from accounts.selectors import owner_emails
from billing import selectors
from billing.errors import NoStripeSubscription, PlanNotForSale, SubscriptionEnded
from billing.models import Plan, Subscription
from billing.stripe import client, prices, sync
from core.errors import Conflict, InvalidInput
from core.types import Actor
from tenants.models import Workspace

RULE = ("Upgrades (a higher price per month) take effect now: the rest of the current period is charged pro rata "
        "on an invoice now. Downgrades take effect at the end of the period already paid for: the current plan's "
        "limits stay until then and nothing is refunded.")
_LIVE = {Subscription.Status.ACTIVE, Subscription.Status.TRIALING, Subscription.Status.PAST_DUE,
         Subscription.Status.UNPAID, Subscription.Status.INCOMPLETE}


@dataclass(frozen=True)
class PlanChange:
    subscription: Subscription
    change: str  # "upgrade" or "downgrade"
    effective: str  # "now" or "period_end"
    effective_at: datetime | None
    rule: str = RULE


def _stripe_key(workspace: Workspace, op: str, idempotency_key: str | None) -> str | None:
    """Stripe's Idempotency-Key for our call, derived from the caller's: a retried request
    never makes Stripe do anything twice either."""
    return f"tollgate:{workspace.pk}:{op}:{idempotency_key}" if idempotency_key else None


def _plan(slug: str) -> Plan:
    plan = selectors.plan_get(slug=slug)
    if plan is None:
        known = ", ".join(Plan.objects.filter(is_active=True).values_list("slug", flat=True))
        raise InvalidInput(f"Unknown plan {slug!r}. Plans: {known}.", field="plan")
    if plan.is_default:
        raise PlanNotForSale(f"The {plan.name} plan is free: to move to it, cancel the subscription.")
    return plan


def _live(workspace: Workspace) -> Subscription:
    sub = selectors.subscription_for(workspace=workspace)
    if sub is None or not sub.stripe_subscription_id:
        raise NoStripeSubscription("This workspace has no paid subscription: subscribe through "
                                   "POST /api/v1/billing/checkout first.")
    if sub.status not in _LIVE:
        raise SubscriptionEnded("This workspace's subscription has ended: subscribe again through "
                                "POST /api/v1/billing/checkout.")
    return sub


def customer_ensure(*, workspace: Workspace) -> str:
    """The workspace's Stripe customer id, made on first use (one per workspace, even when two
    requests race: the Stripe call's idempotency key is the workspace's)."""
    client.require()
    sub = selectors.subscription_for(workspace=workspace)
    if sub is not None and sub.stripe_customer_id:
        return sub.stripe_customer_id
    emails = owner_emails(workspace=workspace)
    customer = client.call(stripe.Customer.create, email=emails[0] if emails else None, name=workspace.name,
                           metadata={"tollgate_workspace": str(workspace.pk), "tollgate_slug": workspace.slug},
                           idempotency_key=f"tollgate:{workspace.pk}:customer")
    sync.customer_link(workspace=workspace, customer_id=customer.id)
    return customer.id


def subscription_checkout_start(*, workspace: Workspace, plan_slug: str, interval: str, success_url: str,
                                cancel_url: str, idempotency_key: str | None = None) -> dict:
    """A Stripe Checkout session that subscribes the workspace to `plan_slug`: {"id", "url"}.
    Raises StripeNotConfigured, InvalidInput, PlanNotForSale, Conflict (already subscribed)."""
    client.require()
    plan = _plan(plan_slug)
    current = selectors.subscription_for(workspace=workspace)
    if current is not None and current.stripe_subscription_id and current.status in _LIVE:
        raise Conflict("This workspace already has a subscription: change its plan with "
                       "POST /api/v1/billing/change-plan.")
    price_id = prices.price_id_for(plan=plan, interval=interval)
    customer_id = customer_ensure(workspace=workspace)
    meta = {"tollgate_workspace": str(workspace.pk)}
    session = client.call(
        stripe.checkout.Session.create, mode="subscription", customer=customer_id,
        line_items=[{"price": price_id, "quantity": 1}], success_url=success_url, cancel_url=cancel_url,
        client_reference_id=str(workspace.pk), metadata=meta,
        subscription_data={"metadata": {**meta, "tollgate_plan": plan.slug}},
        idempotency_key=_stripe_key(workspace, f"checkout:{plan.slug}:{interval}", idempotency_key))
    return {"id": session.id, "url": session.url}


def subscription_portal_start(*, workspace: Workspace, return_url: str) -> dict:
    """A Stripe Customer Portal session for the workspace's customer: {"url"}."""
    client.require()
    sub = selectors.subscription_for(workspace=workspace)
    if sub is None or not sub.stripe_customer_id:
        raise NoStripeSubscription("This workspace has no Stripe customer yet: subscribe through "
                                   "POST /api/v1/billing/checkout first.")
    session = client.call(stripe.billing_portal.Session.create, customer=sub.stripe_customer_id,
                          return_url=return_url)
    return {"url": session.url}


def _monthly(price: dict) -> float:
    per = (price.get("recurring") or {}).get("interval")
    return (price.get("unit_amount") or 0) / (12 if per == "year" else 1)


def subscription_change_plan(*, workspace: Workspace, plan_slug: str, interval: str | None, actor: Actor,
                             idempotency_key: str | None = None) -> PlanChange:
    """Move the paid subscription to another plan (RULE). Raises StripeNotConfigured,
    InvalidInput, PlanNotForSale, NoStripeSubscription, SubscriptionEnded, Conflict."""
    client.require()
    plan = _plan(plan_slug)
    sub = _live(workspace)
    interval = interval or sub.interval
    remote = client.as_dict(client.call(stripe.Subscription.retrieve, sub.stripe_subscription_id))
    item = remote["items"]["data"][0]
    if prices.plan_of(item["price"]) == (plan.slug, interval) and sub.pending_plan_id is None:
        raise Conflict(f"This workspace is already on the {plan.name} plan, billed "
                       f"{'monthly' if interval == 'month' else 'annually'}.")
    new_price = client.as_dict(client.call(stripe.Price.retrieve, prices.price_id_for(plan=plan, interval=interval)))
    upgrade = _monthly(new_price) > _monthly(item["price"])
    if not upgrade:
        with transaction.atomic():
            locked = selectors.lock_subscription(workspace=workspace)
            assert locked is not None
            locked.pending_plan, locked.pending_interval = plan, interval
            locked.save(update_fields=["pending_plan", "pending_interval", "updated_at"])
    answer = client.call(
        stripe.Subscription.modify, sub.stripe_subscription_id,
        items=[{"id": item["id"], "price": new_price["id"]}],
        proration_behavior="always_invoice" if upgrade else "none",
        idempotency_key=_stripe_key(workspace, f"change:{plan.slug}:{interval}", idempotency_key))
    applied = sync.subscription_apply(data=client.as_dict(answer), at=None, actor=actor)
    applied = applied or selectors.subscription_for(workspace=workspace)
    assert applied is not None
    return PlanChange(subscription=applied, change="upgrade" if upgrade else "downgrade",
                      effective="now" if upgrade else "period_end",
                      effective_at=None if upgrade else applied.current_period_end)


def subscription_cancel(*, workspace: Workspace, at_period_end: bool, actor: Actor,
                        idempotency_key: str | None = None) -> Subscription:
    """Cancel now (the free plan's limits at once, nothing refunded) or at the end of the
    period. Raises StripeNotConfigured, NoStripeSubscription, SubscriptionEnded."""
    client.require()
    sub = _live(workspace)
    key = _stripe_key(workspace, f"cancel:{'end' if at_period_end else 'now'}", idempotency_key)
    if at_period_end:
        answer = client.call(stripe.Subscription.modify, sub.stripe_subscription_id, cancel_at_period_end=True,
                             idempotency_key=key)
    else:
        answer = client.call(stripe.Subscription.cancel, sub.stripe_subscription_id, idempotency_key=key)
    applied = sync.subscription_apply(data=client.as_dict(answer), at=None, actor=actor)
    return applied or sub


def subscription_reactivate(*, workspace: Workspace, actor: Actor, idempotency_key: str | None = None) -> Subscription:
    """Undo a cancellation set for the end of the period (and a pending downgrade). Raises
    StripeNotConfigured, NoStripeSubscription, SubscriptionEnded, Conflict (nothing to undo)."""
    client.require()
    sub = _live(workspace)
    if not sub.cancel_at_period_end and sub.pending_plan_id is None:
        raise Conflict("This subscription is not set to end or change: there is nothing to reactivate.")
    params: dict = {"cancel_at_period_end": False}
    if sub.pending_plan_id is not None:
        remote = client.as_dict(client.call(stripe.Subscription.retrieve, sub.stripe_subscription_id))
        item = remote["items"]["data"][0]
        params.update(items=[{"id": item["id"], "price": prices.price_id_for(plan=sub.plan, interval=sub.interval)}],
                      proration_behavior="none")
        with transaction.atomic():
            locked = selectors.lock_subscription(workspace=workspace)
            assert locked is not None
            locked.pending_plan, locked.pending_interval = None, ""
            locked.save(update_fields=["pending_plan", "pending_interval", "updated_at"])
    answer = client.call(stripe.Subscription.modify, sub.stripe_subscription_id,
                         idempotency_key=_stripe_key(workspace, "reactivate", idempotency_key), **params)
    applied = sync.subscription_apply(data=client.as_dict(answer), at=None, actor=actor)
    return applied or sub
