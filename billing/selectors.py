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


def plan_list_active() -> list[Plan]:
    """The plans on offer, in the catalogue's order."""
    return list(Plan.objects.filter(is_active=True).order_by("sort_order", "monthly_price_cents"))
