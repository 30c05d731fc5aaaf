"""Plan terms + a period's usage (+ credits, proration, adjustments, a tax rate) -> invoice lines.

Pure: the caller reads usage (metering's daily totals) and the plan; this only computes. Every
amount is whole cents (see billing.rating for the rounding rule). Invariants the property
tests hold it to (tests/billing/test_rating_properties.py): the total is the sum of the
lines; the total is never negative; more usage never lowers the total; graduated tiers agree
with pricing each unit one by one.
"""

from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from fractions import Fraction

from billing.rating.pricing import overage_lines, round_half_up, validate_pricing


@dataclass(frozen=True)
class Terms:
    """What a plan charges for one period, as copied onto an invoice (Invoice.terms)."""

    plan: str
    name: str
    base_fee: int  # cents for this period (monthly price, or the annual one in the month it is due)
    interval: str = "month"
    currency: str = "usd"
    included: Mapping[str, int] = field(default_factory=dict)  # units per period, per meter
    overage: Mapping[str, Mapping] = field(default_factory=dict)  # meter -> price model (billing.rating.pricing)

    @classmethod
    def from_snapshot(cls, data: Mapping) -> "Terms":
        return cls(plan=data["plan"], name=data["name"], base_fee=int(data["base_fee"]),
                   interval=data.get("interval", "month"), currency=data.get("currency", "usd"),
                   included={m: int(u) for m, u in (data.get("included") or {}).items()},
                   overage={m: validate_pricing(s) for m, s in (data.get("overage") or {}).items()})

    def snapshot(self) -> dict:
        return {"plan": self.plan, "name": self.name, "base_fee": self.base_fee, "interval": self.interval,
                "currency": self.currency, "included": dict(self.included),
                "overage": {m: dict(s) for m, s in self.overage.items()}}


@dataclass(frozen=True)
class Line:
    kind: str  # base | included | overage | proration | adjustment | credit | carried | tax
    description: str
    amount: int  # cents; negative for credits
    meter: str = ""
    quantity: int = 0
    unit_amount: int = 0  # cents per `per` units (overage)
    per: int = 1
    meta: Mapping = field(default_factory=dict)


@dataclass(frozen=True)
class Rated:
    lines: tuple[Line, ...]
    total: int
    credit_carried: int = 0  # credit left over when reductions exceed the charges (not lost)

    def overage(self, meter: str | None = None) -> int:
        return sum(li.amount for li in self.lines if li.kind == "overage" and (meter is None or li.meter == meter))


def _units(n: int) -> str:
    return f"{n:,}"


def _price(unit_amount: int, per: int) -> str:
    text = f"${unit_amount // 100}.{unit_amount % 100:02d}"
    return f"{text} per {_units(per)}" if per != 1 else f"{text} each"


def rate(terms: Terms, usage: Mapping[str, int], *, credits: int = 0,
         proration: Iterable[tuple[str, int]] = (), adjustments: Iterable[Line] = (),
         tax_rate_bps: int = 0) -> Rated:
    """The invoice lines of one period.

    usage: units per meter for the whole period. credits: cents granted to this invoice.
    proration: (description, cents) pairs from a plan change (proration_lines). adjustments:
    lines already rated for usage recorded after an earlier invoice was finalised.
    tax_rate_bps: a placeholder rate in basis points (0 until a tax integration exists).
    """
    lines: list[Line] = [Line("base", f"{terms.name} plan ({terms.interval}ly)", terms.base_fee, quantity=1,
                              unit_amount=terms.base_fee)]
    for meter in sorted(set(terms.included) | set(terms.overage)):
        used = max(0, int(usage.get(meter, 0)))
        included = terms.included.get(meter, 0)
        lines.append(Line("included", f"{meter}: {_units(min(used, included))} of {_units(included)} included",
                          0, meter=meter, quantity=min(used, included)))
        spec = terms.overage.get(meter)
        if spec is None:
            continue
        for piece in overage_lines(spec, used - included):
            tier = f", tier {piece.tier}" if piece.tier else ""
            packages = f" ({_units(piece.packages)} packages)" if piece.packages else ""
            lines.append(Line("overage", f"{meter} over the included: {_units(piece.units)}{packages} at "
                                         f"{_price(piece.unit_amount, piece.per)}{tier}",
                              piece.amount, meter=meter, quantity=piece.units, unit_amount=piece.unit_amount,
                              per=piece.per, meta={"tier": piece.tier} if piece.tier else {}))
    lines += [Line("proration", text, int(amount)) for text, amount in proration]
    lines += list(adjustments)
    if credits < 0:
        raise ValueError("credits are a non-negative number of cents")
    if credits:
        lines.append(Line("credit", "Credit applied", -credits))
    # Reductions (credits, unused time) never take an invoice below zero: what they exceed the
    # charges by is carried to the next invoice, shown as its own line so the lines still add up.
    subtotal = sum(li.amount for li in lines)
    carried = -subtotal if subtotal < 0 else 0
    if carried:
        lines.append(Line("carried", "Credit carried to the next invoice", carried))
        subtotal = 0
    tax = round_half_up(Fraction(subtotal * tax_rate_bps, 10_000))
    lines.append(Line("tax", f"Tax ({tax_rate_bps / 100:g} %)" if tax_rate_bps else "Tax (not applicable)", tax,
                      meta={"rate_bps": tax_rate_bps}))
    return Rated(tuple(lines), sum(li.amount for li in lines), carried)


def proration_lines(*, old: Terms, new: Terms, period_seconds: int, remaining_seconds: int) -> list[tuple[str, int]]:
    """A plan change with `remaining_seconds` of a `period_seconds` period left: credit for the
    old plan's unused time, charge for the new plan's remaining time (each rounded half up)."""
    if not 0 <= remaining_seconds <= period_seconds or period_seconds <= 0:
        raise ValueError("remaining_seconds lies within the period")
    share = Fraction(remaining_seconds, period_seconds)
    return [(f"Unused time on {old.name}", -round_half_up(old.base_fee * share)),
            (f"Remaining time on {new.name}", round_half_up(new.base_fee * share))]
