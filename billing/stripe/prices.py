"""Which Stripe price sells which plan: found by lookup key, so no price id is copied by hand.

A plan is sold at `tollgate:<plan slug>:<month|year>` (Stripe's `lookup_key`; an operator moves
the key to a new price, with transfer_lookup_key, to change what new subscribers pay, and
existing subscriptions keep their price). Webhooks name the plan back from the subscription
item's price: its lookup key, else `metadata.tollgate_plan` with its recurring interval.
"""

import stripe

from billing.errors import PlanNotForSale
from billing.models import Plan
from billing.stripe import client

PREFIX = "tollgate"
INTERVALS = ("month", "year")


def lookup_key(*, plan_slug: str, interval: str) -> str:
    return f"{PREFIX}:{plan_slug}:{interval}"


def price_id_for(*, plan: Plan, interval: str) -> str:
    """The active Stripe price that sells `plan` per `interval`. Raises PlanNotForSale."""
    key = lookup_key(plan_slug=plan.slug, interval=interval)
    found = client.call(stripe.Price.list, lookup_keys=[key], active=True, limit=1)
    if not found.data:
        raise PlanNotForSale(f"The {plan.name} plan is not sold {'monthly' if interval == 'month' else 'annually'} "
                             f"through Stripe yet (no active price with lookup key {key!r}).")
    return found.data[0].id


def plan_of(price: dict) -> tuple[str | None, str | None]:
    """(plan slug, interval) a Stripe price sells, or (None, None) for a price that isn't ours."""
    interval = (price.get("recurring") or {}).get("interval")
    key = price.get("lookup_key") or ""
    parts = key.split(":")
    if len(parts) == 3 and parts[0] == PREFIX and parts[2] in INTERVALS:
        return parts[1], parts[2]
    slug = (price.get("metadata") or {}).get("tollgate_plan")
    if slug and interval in INTERVALS:
        return slug, interval
    return None, None
