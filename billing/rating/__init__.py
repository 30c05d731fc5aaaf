"""The rating engine: pure functions from a plan's terms, a period's usage totals, credits and
proration to invoice lines, in integer minor units (cents). No database, no clock, no floats.

Rounding rule (the one place it is stated): amounts are computed exactly as fractions of a
cent (`fractions.Fraction`) and each line is rounded once, half up, to a whole cent, where it
is made; totals are sums of rounded lines, so an invoice always adds up. Package pricing
charges every started package (Stripe's package pricing with `round: up`), which is already
whole cents.

- `pricing`: the overage price models (per unit, package, graduated tiers), their amount for
  a number of units, and the inverse (the most units a budget buys: the spend cap).
- `invoice`: plan terms + usage (+ credits, proration, tax rate) -> lines and total.
"""

from billing.rating.invoice import Line, Rated, Terms, proration_lines, rate
from billing.rating.pricing import PricingError, overage_amount, overage_lines, units_within, validate_pricing

__all__ = ["Line", "PricingError", "Rated", "Terms", "overage_amount", "overage_lines", "proration_lines", "rate",
           "units_within", "validate_pricing"]
