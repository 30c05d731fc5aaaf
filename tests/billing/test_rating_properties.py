"""Property tests of the rating engine (billing.rating): pure, no database."""

from fractions import Fraction

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from billing.rating import Terms, overage_amount, overage_lines, proration_lines, rate, units_within, validate_pricing
from billing.rating.pricing import PricingError, round_half_up

pytestmark = pytest.mark.django_db(databases=[])  # pure functions: no database

per_unit = st.builds(lambda a: {"model": "per_unit", "unit_amount": a}, st.integers(0, 500))
package = st.builds(lambda size, a: {"model": "package", "package_size": size, "amount": a},
                    st.integers(1, 10_000), st.integers(0, 500))


@st.composite
def graduated(draw):
    count = draw(st.integers(1, 5))
    bounds = sorted(draw(st.sets(st.integers(1, 50_000), min_size=count - 1, max_size=count - 1)))
    tiers = [{"up_to": b, "unit_amount": draw(st.integers(0, 300)), "per": draw(st.sampled_from([1, 10, 1000]))}
             for b in bounds]
    tiers.append({"up_to": None, "unit_amount": draw(st.integers(0, 300)), "per": draw(st.sampled_from([1, 10, 1000]))})
    return validate_pricing({"model": "graduated", "tiers": tiers})


pricing = st.one_of(per_unit, package, graduated())


@st.composite
def terms(draw):
    meters = draw(st.lists(st.sampled_from(["requests", "tokens", "runs"]), min_size=1, max_size=3, unique=True))
    return Terms(plan="p", name="P", base_fee=draw(st.integers(0, 100_000)),
                 included={m: draw(st.integers(0, 20_000)) for m in meters},
                 overage={m: draw(pricing) for m in meters if draw(st.booleans())})


usage_of = st.dictionaries(st.sampled_from(["requests", "tokens", "runs"]), st.integers(0, 200_000))


@settings(max_examples=300, deadline=None)
@given(terms(), usage_of, st.integers(0, 50_000), st.lists(st.tuples(st.just("change"), st.integers(-90_000, 90_000)),
                                                             max_size=2), st.integers(0, 3000))
def test_rate_total_is_the_sum_of_its_lines_and_never_negative(t, usage, credits, proration, tax):
    rated = rate(t, usage, credits=credits, proration=proration, tax_rate_bps=tax)
    assert rated.total == sum(line.amount for line in rated.lines)
    assert rated.total >= 0
    assert all(isinstance(line.amount, int) for line in rated.lines)


@settings(max_examples=300, deadline=None)
@given(terms(), usage_of, st.sampled_from(["requests", "tokens", "runs"]), st.integers(1, 100_000),
       st.integers(0, 50_000), st.integers(0, 3000))
def test_rate_never_decreases_when_usage_grows(t, usage, meter, more, credits, tax):
    before = rate(t, usage, credits=credits, tax_rate_bps=tax).total
    grown = {**usage, meter: usage.get(meter, 0) + more}
    assert rate(t, grown, credits=credits, tax_rate_bps=tax).total >= before


def _brute_force(spec, units):
    """Each unit priced one by one at the tier it falls in; each tier's sum rounded once (the rule)."""
    per_tier: dict[int, Fraction] = {}
    for n in range(1, units + 1):
        for i, tier in enumerate(spec["tiers"]):
            if tier["up_to"] is None or n <= tier["up_to"]:
                per_tier[i] = per_tier.get(i, Fraction(0)) + Fraction(tier["unit_amount"], tier["per"])
                break
    return {i + 1: round_half_up(amount) for i, amount in per_tier.items()}


@settings(max_examples=200, deadline=None)
@given(graduated(), st.integers(0, 60_000))
def test_graduated_tiers_agree_with_a_per_unit_brute_force_sum(spec, units):
    assert {p.tier: p.amount for p in overage_lines(spec, units)} == _brute_force(spec, units)


@settings(max_examples=300, deadline=None)
@given(pricing, st.integers(0, 100_000))
def test_units_within_is_the_most_units_the_budget_buys(spec, budget):
    units = units_within(spec, budget)
    if units is None:  # a free price: no number of units ever reaches the budget
        assert overage_amount(spec, 10**9) <= budget or overage_amount(spec, 10**9) == overage_amount(spec, 10**8)
        return
    assert overage_amount(spec, units) <= budget
    assert overage_amount(spec, units + 1) > budget


def test_rate_pro_plan_with_overage_in_packages():
    # given Pro: $99 and $0.05 per started 1,000 requests over 1,000,000 included
    pro = Terms(plan="pro", name="Pro", base_fee=9900, included={"requests": 1_000_000},
                overage={"requests": {"model": "package", "package_size": 1000, "amount": 5}})
    # when 1,234,567 requests were made
    rated = rate(pro, {"requests": 1_234_567})
    # then 235 packages are charged on top of the base fee
    assert [(li.kind, li.amount) for li in rated.lines] == [("base", 9900), ("included", 0), ("overage", 1175),
                                                             ("tax", 0)]
    assert rated.total == 11_075


def test_rate_credits_beyond_the_charges_are_carried_not_lost():
    t = Terms(plan="s", name="S", base_fee=4900)
    rated = rate(t, {}, credits=10_000)
    assert rated.total == 0
    assert rated.credit_carried == 5100


@pytest.mark.parametrize("spec", [{"model": "flat"}, {"model": "per_unit", "unit_amount": -1},
                                  {"model": "package", "package_size": 0, "amount": 5},
                                  {"model": "graduated", "tiers": [{"up_to": 10, "unit_amount": 1}]},
                                  {"model": "graduated", "tiers": [{"up_to": 10, "unit_amount": 1},
                                                                   {"up_to": 5, "unit_amount": 1},
                                                                   {"up_to": None, "unit_amount": 1}]},
                                  {"model": "per_unit", "unit_amount": 1.5}])
def test_validate_pricing_refuses_malformed_models(spec):
    with pytest.raises(PricingError):
        validate_pricing(spec)


def test_proration_lines_credit_unused_time_and_charge_the_rest():
    startup, pro = Terms(plan="startup", name="Startup", base_fee=4900), Terms(plan="pro", name="Pro", base_fee=9900)
    # an upgrade with 10 of 30 days left
    lines = proration_lines(old=startup, new=pro, period_seconds=30 * 86400, remaining_seconds=10 * 86400)
    assert lines == [("Unused time on Startup", -1633), ("Remaining time on Pro", 3300)]
    rated = rate(pro, {}, proration=lines)
    assert rated.total == 9900 - 1633 + 3300


@pytest.mark.parametrize("remaining", [-1, 30 * 86400 + 1])
def test_proration_lines_refuse_time_outside_the_period(remaining):
    t = Terms(plan="p", name="P", base_fee=100)
    with pytest.raises(ValueError, match="within the period"):
        proration_lines(old=t, new=t, period_seconds=30 * 86400, remaining_seconds=remaining)
