"""Percentiles read from the fixed log-scale buckets are within one bucket of the exact ones."""

import math

from hypothesis import given, settings
from hypothesis import strategies as st

from metering.analytics import histogram

latencies = st.lists(st.integers(min_value=0, max_value=120_000_000), min_size=1, max_size=500)
quantiles = st.sampled_from([0.5, 0.9, 0.95, 0.99, 0.999, 1.0])


def exact(values: list[int], q: float) -> int:
    """The nearest-rank q-quantile."""
    ordered = sorted(values)
    return ordered[max(1, math.ceil(q * len(ordered))) - 1]


@settings(max_examples=300, deadline=None)
@given(values=latencies, q=quantiles)
def test_percentile_is_within_one_bucket_of_the_exact_value(values, q):
    # given the latencies counted in a histogram
    buckets = histogram.empty()
    for v in values:
        buckets[histogram.bucket_of(v)] += 1
    # when a percentile is read from it
    estimate = histogram.percentile(buckets, q)
    # then it falls within one bucket of the exact value
    assert estimate is not None
    assert abs(histogram.bucket_of(estimate) - histogram.bucket_of(exact(values, q))) <= 1


@settings(max_examples=100, deadline=None)
@given(a=latencies, b=latencies)
def test_merged_histograms_count_what_both_counted(a, b):
    ha, hb, both = histogram.empty(), histogram.empty(), histogram.empty()
    for v in a:
        ha[histogram.bucket_of(v)] += 1
    for v in b:
        hb[histogram.bucket_of(v)] += 1
    for v in a + b:
        both[histogram.bucket_of(v)] += 1
    assert histogram.merge(ha, hb) == both


def test_bounds_grow_by_a_fixed_ratio_past_a_minute():
    ratios = [b / a for a, b in zip(histogram.BOUNDS_US, histogram.BOUNDS_US[1:], strict=False)]
    assert all(1.17 < r < 1.21 for r in ratios)
    assert histogram.BOUNDS_US[0] == 100 and histogram.BOUNDS_US[-1] > 60_000_000
    assert histogram.bucket_of(100) == 0 and histogram.bucket_of(101) == 1
    assert histogram.bucket_of(10**12) == histogram.BUCKETS - 1


def test_percentile_of_nothing_is_none():
    assert histogram.percentile(histogram.empty(), 0.99) is None
