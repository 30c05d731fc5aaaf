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
