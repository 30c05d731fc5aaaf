"""Plans and subscriptions. Whenever a workspace's limits change, billing hands metering
a plain policy (metering.services.policy_set); metering never imports billing."""

import copy

from django.db import transaction

from auditing.services import record
from billing import selectors
from billing.catalogue import DEFAULT_PLANS, included_for, terms_for
from billing.models import Plan, Subscription
from billing.rating import units_within
from core.errors import InvalidInput
from core.types import Actor
from metering import services as metering
from metering.policy import PolicyError, validate
from tenants.models import Workspace
from tenants.services import workspace_set_features, workspace_set_member_limit

SPEND_CAP = "spend_cap"  # the reason metering names when a spend-cap window refuses


def _merge(base: dict, override: dict) -> dict:
    out = copy.deepcopy(base)
    for k, v in (override or {}).items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else copy.deepcopy(v)
    return out


def _dollars(cents: int) -> str:
    return f"${cents // 100:,}.{cents % 100:02d}"


def spend_cap_windows(*, plan: Plan, interval: str, spend_cap_cents: int) -> dict[str, dict]:
    """The hard monthly limit per overage meter that keeps the overage within the budget: the
    included units plus the most units the budget buys (billing.rating.units_within). Several
    overage meters share the budget equally (the first gets the odd cents), so the sum of
    their overage never passes it. A meter whose price never reaches the budget gets none."""
    meters = sorted(plan.overage or {})
    if not meters:
        return {}
    terms, included = terms_for(plan, interval), included_for(plan, interval)
    share, odd = divmod(spend_cap_cents, len(meters))
    out = {}
    for i, meter in enumerate(meters):
        extra = units_within(terms.overage[meter], share + (odd if i == 0 else 0))
        if extra is None:
            continue
        limit = included.get(meter, 0) + extra
        out[meter] = {"limit": limit, "hard": True, "reason": SPEND_CAP, "note": (
            f"The workspace's spend cap ({_dollars(spend_cap_cents)} of overage a month) allows {limit:,} {meter} "
            f"this month ({included.get(meter, 0):,} included, {extra:,} over). An owner can raise the cap on "
            "the dashboard's billing page.")}
    return out


def plan_policy(*, plan: Plan, overrides: dict | None = None, interval: str = "month",
                spend_cap_cents: int | None = None) -> dict:
    """The metering policy for a workspace on `plan` with operator `overrides`: the plan's rate
    limits, a credits window per allowance meter (included, not priced past it), the
    operator's overrides over them, then the spend cap's monthly limits."""
    policy = copy.deepcopy(plan.limits or {})
    meters = policy.setdefault("meters", {})
    for meter, units in included_for(plan, interval).items():
        if meter not in (plan.overage or {}):
            meters.setdefault(meter, {})["credits"] = units
    policy = _merge(policy, overrides or {})
    if spend_cap_cents is not None:
        for meter, window in spend_cap_windows(plan=plan, interval=interval, spend_cap_cents=spend_cap_cents).items():
            current = policy.setdefault("meters", {}).setdefault(meter, {}).get("month")
            tighter = isinstance(current, dict) and current.get("hard", True) and current.get("limit", 0) <= window["limit"]
            if not tighter:
                policy["meters"][meter]["month"] = window
    policy["plan"] = plan.slug
    upgrade = selectors.plan_next(plan=plan)
    policy["upgrade"] = (f"Upgrade to the {upgrade.name} plan to raise your limits." if upgrade
                         else "Contact us to raise your limits.")
    return policy


def subscription_policy(*, sub: Subscription, overrides: dict | None = None) -> dict:
    """The policy of a subscribed workspace: its plan, interval, overrides and spend cap."""
    return plan_policy(plan=sub.plan, overrides=sub.overrides if overrides is None else overrides,
                       interval=selectors.subscription_interval(sub=sub), spend_cap_cents=sub.spend_cap_cents)


def _plan_to_workspace(*, workspace: Workspace, plan: Plan, actor: Actor) -> None:
    """What the plan sets on the workspace below billing: feature flags (branding gates on them)
    and the member limit (accounts checks it when inviting)."""
    workspace_set_features(workspace=workspace, features=plan.features, actor=actor)
    workspace_set_member_limit(workspace=workspace, member_limit=plan.member_limit, actor=actor)


def plan_validate_limits(limits: dict) -> None:
    try:
        validate({**(limits or {}), "plan": "check"})
    except PolicyError as exc:
        raise InvalidInput(f"Invalid limits: {exc}", field="limits") from exc


def subscription_set_plan(*, workspace: Workspace, plan_slug: str, actor: Actor = None) -> Subscription:
    """Move the workspace to `plan_slug`; the new limits apply on its next request.

    Raises InvalidInput for an unknown plan.
    """
    plan = selectors.plan_get(slug=plan_slug)
    if plan is None:
        known = ", ".join(Plan.objects.filter(is_active=True).values_list("slug", flat=True))
        raise InvalidInput(f"Unknown plan {plan_slug!r}. Plans: {known}.", field="plan")
    with transaction.atomic():
        sub = selectors.subscription_for(workspace=workspace)
        old = sub.plan.slug if sub else None
        if sub is None:
            sub = Subscription.objects.create(workspace=workspace, plan=plan)
        else:
            sub.plan = plan
            sub.status = Subscription.Status.ACTIVE
            sub.save(update_fields=["plan", "status", "updated_at"])
        metering.policy_set(workspace=workspace, policy=subscription_policy(sub=sub), actor=actor)
        _plan_to_workspace(workspace=workspace, plan=plan, actor=actor)
        if old != plan.slug:
            record(action="plan_changed", actor=actor, resource=sub, workspace=workspace,
                   details={"from": old, "to": plan.slug})
    return sub


def subscription_set_overrides(*, workspace: Workspace, overrides: dict, actor: Actor = None) -> Subscription:
    """Operator overrides of the plan's limits for one workspace (same shape as Plan.limits)."""
    sub = selectors.subscription_for(workspace=workspace)
    if sub is None:
        default = selectors.plan_default()
        if default is None:
            raise InvalidInput("There is no default plan to attach overrides to.")
        sub = subscription_set_plan(workspace=workspace, plan_slug=default.slug, actor=actor)
    policy = subscription_policy(sub=sub, overrides=overrides or {})
    try:
        validate(policy)
    except PolicyError as exc:
        raise InvalidInput(f"Invalid overrides: {exc}", field="overrides")
    with transaction.atomic():
        sub.overrides = overrides or {}
        sub.save(update_fields=["overrides", "updated_at"])
        metering.policy_set(workspace=workspace, policy=policy, actor=actor)
    return sub


def plan_sync(*, plan: Plan, actor: Actor = None) -> int:
    """Re-send the policy of every workspace on `plan` (after an edit). Returns how many."""
    count = 0
    with transaction.atomic():
        if plan.is_default:
            metering.default_policy_set(policy=plan_policy(plan=plan), actor=actor)
        for sub in Subscription.objects.filter(plan=plan).select_related("workspace", "plan").order_by("pk"):
            metering.policy_set(workspace=sub.workspace, policy=subscription_policy(sub=sub), actor=actor)
            _plan_to_workspace(workspace=sub.workspace, plan=plan, actor=actor)
            count += 1
    return count


def spend_cap_set(*, workspace: Workspace, cap_cents: int | None, actor: Actor = None) -> Subscription:
    """Set (or with None, remove) the workspace's monthly overage budget. Metering refuses
    overage past it from the next request on (a hard monthly limit per overage meter).

    Raises InvalidInput for a negative or absurd amount, or when the workspace's plan has no
    overage to cap (nothing is billed past its allowances).
    """
    if cap_cents is not None and (not isinstance(cap_cents, int) or isinstance(cap_cents, bool)
                                  or not 0 <= cap_cents <= 100_000_000):
        raise InvalidInput("The spend cap is a whole number of cents from 0 to 100,000,000 ($1,000,000), "
                           "or null for no cap.", field="cap_cents")
    with transaction.atomic():
        sub = selectors.lock_subscription(workspace=workspace)
        if sub is None:
            default = selectors.plan_default()
            if default is None:
                raise InvalidInput("There is no plan to set a spend cap on.", field="cap_cents")
            sub = subscription_set_plan(workspace=workspace, plan_slug=default.slug, actor=actor)
        if cap_cents is not None and not sub.plan.overage:
            raise InvalidInput(f"The {sub.plan.name} plan bills no overage, so there is nothing to cap. "
                               "Its allowances are hard limits already.", field="cap_cents")
        old = sub.spend_cap_cents
        if old == cap_cents:
            return sub
        sub.spend_cap_cents = cap_cents
        sub.spend_alerts = {}
        sub.save(update_fields=["spend_cap_cents", "spend_alerts", "updated_at"])
        metering.policy_set(workspace=workspace, policy=subscription_policy(sub=sub), actor=actor)
        record(action="spend_cap_changed", actor=actor, resource=sub, workspace=workspace,
               details={"from": old, "to": cap_cents})
    return sub


def catalogue_ensure() -> list[Plan]:
    """Create the default plans that are missing (idempotent) and publish the default policy."""
    plans = []
    for spec in DEFAULT_PLANS:
        plan, _ = Plan.objects.get_or_create(slug=spec["slug"], defaults=spec)
        plans.append(plan)
    default = selectors.plan_default()
    if default is not None:
        with transaction.atomic():
            metering.default_policy_set(policy=plan_policy(plan=default))
    return plans
