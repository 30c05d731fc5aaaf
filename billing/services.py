"""Plans and subscriptions. Whenever a workspace's limits change, billing hands metering
a plain policy (metering.services.policy_set); metering never imports billing."""

import copy

from django.db import transaction

from auditing.services import record
from billing import selectors
from billing.catalogue import DEFAULT_PLANS
from billing.models import Plan, Subscription
from core.errors import InvalidInput
from core.types import Actor
from metering import services as metering
from metering.policy import PolicyError, validate
from tenants.models import Workspace


def _merge(base: dict, override: dict) -> dict:
    out = copy.deepcopy(base)
    for k, v in (override or {}).items():
        out[k] = _merge(out[k], v) if isinstance(v, dict) and isinstance(out.get(k), dict) else copy.deepcopy(v)
    return out


def plan_policy(*, plan: Plan, overrides: dict | None = None) -> dict:
    """The metering policy for a workspace on `plan` with operator `overrides`."""
    policy = _merge(plan.limits, overrides or {})
    policy["plan"] = plan.slug
    upgrade = selectors.plan_next(plan=plan)
    policy["upgrade"] = (f"Upgrade to the {upgrade.name} plan to raise your limits." if upgrade
                         else "Contact us to raise your limits.")
    return policy


def plan_validate_limits(limits: dict) -> None:
    try:
        validate({**(limits or {}), "plan": "check"})
    except PolicyError as exc:
        raise InvalidInput(f"Invalid limits: {exc}", field="limits")


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
        metering.policy_set(workspace=workspace, policy=plan_policy(plan=plan, overrides=sub.overrides), actor=actor)
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
    policy = plan_policy(plan=sub.plan, overrides=overrides)
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
        for sub in Subscription.objects.filter(plan=plan).select_related("workspace").order_by("pk"):
            metering.policy_set(workspace=sub.workspace, policy=plan_policy(plan=plan, overrides=sub.overrides),
                                actor=actor)
            count += 1
    return count


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
