"""The plan catalogue: the default plans (seeded by a data migration and by `manage.py demo`),
what a plan's terms must satisfy (admin validation), and a plan's terms for rating.

Prices are cents. `included` is units a month; a meter priced in `overage` is billed past
them, a meter without a price is a monthly allowance (metering's credits window).
"""

import copy
from typing import Any

from billing.rating import PricingError, Terms, validate_pricing
from metering.policy import FALLBACK_POLICY, PolicyError, validate

# The free plan's limits are what metering enforces before billing says anything (one place):
# its rate limits are FALLBACK_POLICY's, its allowances (credits) come from `included`.
_FALLBACK_METERS: dict[str, dict[str, Any]] = copy.deepcopy(FALLBACK_POLICY["meters"])  # type: ignore[arg-type]
_FREE_LIMITS = {"burst": copy.deepcopy(FALLBACK_POLICY["burst"]),
                "meters": {m: {w: v for w, v in spec.items() if w != "credits"}
                           for m, spec in _FALLBACK_METERS.items() if any(w != "credits" for w in spec)}}
_FREE_INCLUDED = {m: spec["credits"] for m, spec in _FALLBACK_METERS.items() if "credits" in spec}
_PER_1000 = {"model": "package", "package_size": 1000}

DEFAULT_PLANS: list[dict[str, Any]] = [
    {
        "slug": "free", "name": "Free", "monthly_price_cents": 0, "is_default": True, "sort_order": 0,
        "description": "1,000 requests an hour, 10,000 a day. Up to 3 members.",
        "limits": _FREE_LIMITS, "included": _FREE_INCLUDED, "member_limit": 3,
    },
    {
        "slug": "startup", "name": "Startup", "monthly_price_cents": 4900, "annual_price_cents": 49900,
        "sort_order": 10,
        "description": "5,000 requests an hour, 50,000 a day; 300 analysis runs a month (350 on the annual price).",
        "limits": {"burst": {"limit": 50, "window": 1},
                   "meters": {"requests": {"hour": {"limit": 5000, "hard": True}, "day": {"limit": 50000, "hard": True}}}},
        "included": {"analysis_runs": 300}, "included_annual": {"analysis_runs": 350},
        "member_limit": 10, "custom_branding": True,
    },
    {
        "slug": "pro", "name": "Pro", "monthly_price_cents": 9900, "annual_price_cents": 99000, "sort_order": 20,
        "description": "1,000,000 requests a month included, then $0.05 per 1,000; 3,000 analysis runs a month.",
        "limits": {"burst": {"limit": 100, "window": 1},
                   "meters": {"requests": {"hour": {"limit": 10000, "hard": True}}}},
        "included": {"requests": 1_000_000, "analysis_runs": 3000},
        "overage": {"requests": {**_PER_1000, "amount": 5}},
        "member_limit": 25, "custom_branding": True, "custom_domain": True,
    },
    {
        "slug": "enterprise", "name": "Enterprise", "monthly_price_cents": 99900, "sort_order": 30,
        "description": "10,000,000 requests a month included, then $0.02 per 1,000; no request cap; burst 500/s.",
        "limits": {"burst": {"limit": 500, "window": 1}, "meters": {"requests": {}}},
        "included": {"requests": 10_000_000, "analysis_runs": 100_000},
        "overage": {"requests": {**_PER_1000, "amount": 2}},
        "member_limit": None, "custom_branding": True, "custom_domain": True, "sso": True, "priority_support": True,
    },
]


def _units(value: Any, what: str) -> list[str]:
    if not isinstance(value, dict) or not all(
            isinstance(k, str) and isinstance(v, int) and not isinstance(v, bool) and v >= 0 for k, v in value.items()):
        return [f"{what} maps meter names to non-negative whole numbers of units"]
    return []


def terms_errors(plan) -> dict[str, list[str]]:
    """What is wrong with a plan's terms, per field (empty: nothing). Admin shows them next to
    the fields; a plan with errors is never saved."""
    errors: dict[str, list[str]] = {}
    try:
        validate({**(plan.limits or {}), "plan": "check"})
    except PolicyError as exc:
        errors["limits"] = [f"Invalid limits: {exc}"]
    for name in ("included", "included_annual"):
        if problems := _units(getattr(plan, name), name):
            errors[name] = problems
    overage = plan.overage
    if not isinstance(overage, dict):
        errors["overage"] = ["overage maps meter names to a price model"]
    else:
        for meter, spec in overage.items():
            try:
                validate_pricing(spec)
            except PricingError as exc:
                errors.setdefault("overage", []).append(f"{meter}: {exc}")
            if isinstance(plan.included, dict) and meter not in plan.included:
                errors.setdefault("overage", []).append(
                    f"{meter}: priced past its included units, so give it included units (0 for none)")
    if plan.annual_price_cents and plan.monthly_price_cents and plan.annual_price_cents > 12 * plan.monthly_price_cents:
        errors["annual_price_cents"] = ["The annual price is more than twelve months at the monthly price."]
    return errors


def included_for(plan, interval: str = "month") -> dict[str, int]:
    """The plan's included units a month, on the monthly or the annual price."""
    included = dict(plan.included or {})
    if interval in ("year", "annual"):
        included.update(plan.included_annual or {})
    return included


def terms_for(plan, interval: str = "month", *, base_fee: int | None = None) -> Terms:
    """The plan's terms for rating one month. `base_fee` defaults to the monthly price (annual
    subscriptions pass the annual price in the month it is due, 0 in the others)."""
    annual = interval in ("year", "annual")
    return Terms(plan=plan.slug, name=plan.name, interval="year" if annual else "month", currency=plan.currency,
                 base_fee=plan.monthly_price_cents if base_fee is None else base_fee,
                 included=included_for(plan, interval),
                 overage={m: validate_pricing(s) for m, s in (plan.overage or {}).items()})
