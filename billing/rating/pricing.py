"""Overage price models, stored as JSON on the plan (Plan.overage[meter]) and copied onto each
invoice (a later price change never rewrites an issued invoice):

    {"model": "per_unit", "unit_amount": 2}                       2 cents per unit
    {"model": "package", "package_size": 1000, "amount": 5}       5 cents per started 1,000
    {"model": "graduated", "tiers": [                              cents per `per` units, by tier
        {"up_to": 1000000, "unit_amount": 5, "per": 1000},        the first 1,000,000 over the included
        {"up_to": null, "unit_amount": 2, "per": 1000}]}           the rest

Units here are units over the plan's included amount. Graduated tiers price each unit at the
tier it falls in (unit n is in the first tier with n <= up_to); each tier is one line, rounded
half up (see billing.rating).
"""

from collections.abc import Mapping
from dataclasses import dataclass
from fractions import Fraction

MODELS = ("per_unit", "package", "graduated")


class PricingError(ValueError):
    """A malformed price model; the message names the bad part."""


def _count(value, what: str, *, positive: bool = False) -> int:
    if not isinstance(value, int) or isinstance(value, bool) or value < (1 if positive else 0):
        raise PricingError(f"{what} is a {'positive' if positive else 'non-negative'} whole number")
    return value


def validate_pricing(spec: Mapping) -> dict:
    """A normalised copy of `spec`. Raises PricingError naming the bad part."""
    if not isinstance(spec, Mapping) or spec.get("model") not in MODELS:
        raise PricingError(f"model is one of {', '.join(MODELS)}")
    model = spec["model"]
    if model == "per_unit":
        return {"model": model, "unit_amount": _count(spec.get("unit_amount"), "unit_amount (cents)")}
    if model == "package":
        return {"model": model, "package_size": _count(spec.get("package_size"), "package_size", positive=True),
                "amount": _count(spec.get("amount"), "amount (cents per package)")}
    tiers = spec.get("tiers")
    if not isinstance(tiers, list) or not tiers:
        raise PricingError("graduated pricing needs a list of tiers")
    out, last = [], 0
    for i, tier in enumerate(tiers):
        if not isinstance(tier, Mapping):
            raise PricingError(f"tier {i + 1} is an object")
        up_to = tier.get("up_to")
        final = i == len(tiers) - 1
        if final != (up_to is None):
            raise PricingError("every tier but the last has up_to; the last has up_to null (no end)")
        if up_to is not None and (_count(up_to, f"tier {i + 1} up_to", positive=True) <= last):
            raise PricingError(f"tier {i + 1}: up_to must grow from tier to tier")
        out.append({"up_to": up_to, "unit_amount": _count(tier.get("unit_amount"), f"tier {i + 1} unit_amount"),
                    "per": _count(tier.get("per", 1), f"tier {i + 1} per", positive=True)})
        last = up_to or last
    return {"model": model, "tiers": out}


def round_half_up(amount: Fraction) -> int:
    """A non-negative exact amount to whole cents, half up."""
    return int(amount + Fraction(1, 2)) if amount >= 0 else -int(-amount + Fraction(1, 2))


@dataclass(frozen=True)
class Piece:
    """One priced slice of overage: `units` at `unit_amount` cents per `per` (a tier, or all of it)."""

    units: int
    unit_amount: int
    per: int
    amount: int  # cents, rounded
    tier: int = 0  # 1-based for graduated; 0 otherwise
    packages: int = 0  # package pricing: packages charged


def overage_lines(spec: Mapping, units: int) -> list[Piece]:
    """The priced pieces of `units` over the included amount (empty for none)."""
    if units <= 0:
        return []
    model = spec["model"]
    if model == "per_unit":
        return [Piece(units, spec["unit_amount"], 1, units * spec["unit_amount"])]
    if model == "package":
        packages = -(-units // spec["package_size"])  # every started package
        return [Piece(units, spec["amount"], spec["package_size"], packages * spec["amount"], packages=packages)]
    out, floor = [], 0
    for i, tier in enumerate(spec["tiers"]):
        top = tier["up_to"] if tier["up_to"] is not None else units
        inside = min(units, top) - floor
        if inside <= 0:
            break
        out.append(Piece(inside, tier["unit_amount"], tier["per"],
                         round_half_up(Fraction(inside * tier["unit_amount"], tier["per"])), tier=i + 1))
        floor = top
    return out


def overage_amount(spec: Mapping, units: int) -> int:
    """Cents charged for `units` over the included amount (the sum of overage_lines)."""
    return sum(p.amount for p in overage_lines(spec, units))


def units_within(spec: Mapping, budget: int) -> int | None:
    """The most overage units whose charge fits in `budget` cents, or None when the price model
    never reaches it (a free last tier). The inverse the spend cap hands metering as a limit.

    The charge never decreases as units grow (each piece is monotone), so a binary search over
    units finds the largest fitting count exactly, whatever the rounding.
    """
    if budget < 0:
        return 0
    model = spec["model"]
    if model == "per_unit":
        return None if spec["unit_amount"] == 0 else budget // spec["unit_amount"]
    if model == "package":
        return None if spec["amount"] == 0 else (budget // spec["amount"]) * spec["package_size"]
    if spec["tiers"][-1]["unit_amount"] == 0:
        return None
    lo, hi = 0, 1
    while overage_amount(spec, hi) <= budget:  # grows past the budget: the last tier charges
        lo, hi = hi, hi * 2
    while hi - lo > 1:  # overage_amount(lo) <= budget < overage_amount(hi)
        mid = (lo + hi) // 2
        if overage_amount(spec, mid) <= budget:
            lo = mid
        else:
            hi = mid
    return lo
