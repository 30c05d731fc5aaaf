from django.db import models

from billing.models import Invoice, Plan, Subscription
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


def subscription_interval(*, sub: Subscription) -> str:
    """"month" or "year". The interval is Stripe's (set by the Stripe side when it exists);
    without it a subscription is monthly."""
    interval = getattr(sub, "interval", None) or "month"
    return "year" if interval in ("year", "annual", "yearly") else "month"


def lock_subscription(*, workspace: Workspace) -> Subscription | None:
    """The workspace's subscription, row-locked until the caller's transaction ends."""
    return Subscription.objects.select_for_update().filter(workspace=workspace).select_related("plan").first()


def plans_public() -> list[Plan]:
    """The active plans, in catalogue order (pricing page, GET /api/v1/billing/plans)."""
    return list(Plan.objects.filter(is_active=True).order_by("sort_order", "monthly_price_cents"))


def invoices_for(*, workspace: Workspace, limit: int = 24) -> list[Invoice]:
    """The workspace's invoices, newest period first (drafts included: the dashboard shows
    what is coming)."""
    return list(Invoice.objects.filter(workspace=workspace).exclude(status=Invoice.Status.VOID)
                .order_by("-period_start", "-pk")[:limit])


def invoice_get(*, workspace: Workspace, invoice_id: int) -> Invoice | None:
    """One of the workspace's invoices with its lines, or None (another workspace's is None too)."""
    invoice = Invoice.objects.filter(workspace=workspace, pk=invoice_id).first()
    if invoice is not None:
        invoice.line_rows = list(invoice.lines.order_by("position"))  # type: ignore[attr-defined]
    return invoice


PAYING = ("active", "past_due")  # Stripe's statuses (the Stripe side sets past_due); canceled pays nothing


def operator_overview() -> dict:
    """For operators (admin): MRR in cents (monthly prices, annual ones spread over 12 months),
    subscriptions active and past due, and invoices per period."""
    from django.db.models import Count, Sum

    subs = list(Subscription.objects.filter(status__in=PAYING).select_related("plan", "workspace"))
    mrr = 0
    for sub in subs:
        if subscription_interval(sub=sub) == "year":
            mrr += round(sub.plan.annual_price_cents / 12)
        else:
            mrr += sub.plan.monthly_price_cents
    per_period = list(Invoice.objects.exclude(status=Invoice.Status.VOID).values("period_start")
                      .annotate(count=Count("id"), total=Sum("total_cents"),
                                finalised=Count("id", filter=models.Q(status=Invoice.Status.FINALIZED)))
                      .order_by("-period_start")[:12])
    return {"mrr_cents": mrr, "active": sum(1 for s in subs if s.status == "active"),
            "past_due": [s for s in subs if s.status == "past_due"], "per_period": per_period}


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
