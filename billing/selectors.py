from billing.models import Plan, Subscription
from tenants.models import Workspace


def plan_default() -> Plan | None:
    return Plan.objects.filter(is_default=True, is_active=True).first()


def plan_get(*, slug: str) -> Plan | None:
    return Plan.objects.filter(slug=slug, is_active=True).first()


def plan_next(*, plan: Plan) -> Plan | None:
    """The plan a workspace on `plan` would upgrade to."""
    return Plan.objects.filter(is_active=True, sort_order__gt=plan.sort_order).order_by("sort_order").first()


def subscription_for(*, workspace: Workspace) -> Subscription | None:
    return Subscription.objects.filter(workspace=workspace).select_related("plan").first()


def lock_subscription(*, workspace: Workspace) -> Subscription | None:
    """The workspace's subscription row, locked for the caller's transaction (webhooks and API
    calls for one workspace apply one at a time)."""
    return Subscription.objects.select_for_update().filter(workspace=workspace).first()


def subscription_by_stripe(*, subscription_id: str = "", customer_id: str = "") -> Subscription | None:
    """The subscription Stripe names (by its subscription id, else its customer id)."""
    if subscription_id:
        found = Subscription.objects.filter(stripe_subscription_id=subscription_id).select_related("workspace").first()
        if found is not None:
            return found
    if customer_id:
        return Subscription.objects.filter(stripe_customer_id=customer_id).select_related("workspace").first()
    return None


def stripe_invoices_for(*, workspace: Workspace, limit: int = 100) -> list[dict]:
    """The workspace's Stripe invoices, newest first, from dj-stripe's mirror (filled by the
    webhooks): only its own customer's, never another workspace's."""
    from djstripe.models import Invoice as StripeInvoice

    sub = subscription_for(workspace=workspace)
    if sub is None or not sub.stripe_customer_id:
        return []
    rows = StripeInvoice.objects.filter(customer__id=sub.stripe_customer_id).order_by("-created")[:limit]
    out = []
    for row in rows:
        data = row.stripe_data
        out.append({"id": row.id, "number": data.get("number"), "status": data.get("status"),
                    "currency": data.get("currency") or "usd", "total": data.get("total") or 0,
                    "amount_due": data.get("amount_due") or 0, "amount_paid": data.get("amount_paid") or 0,
                    "created": row.created, "period_start": data.get("period_start"),
                    "period_end": data.get("period_end"), "hosted_invoice_url": data.get("hosted_invoice_url"),
                    "origin": "stripe"})
    return out
