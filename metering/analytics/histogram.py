"""Fixed log-scale latency buckets: defined once, here, for every process and every stored row.

A latency (microseconds) falls in bucket i when BOUNDS_US[i-1] < latency <= BOUNDS_US[i]
(bucket 0: up to BOUNDS_US[0]; the last bucket, len(BOUNDS_US): above the last bound). The
bounds grow by 2**(1/4) (~19 %) from 100 us to past 60 s, so a percentile read from the
buckets is within one bucket, ~19 %, of the exact value, whatever the distribution, and a
histogram is BUCKETS counters however many requests it holds: histograms add up by adding
their counters, across processes, hours, keys and endpoints.

The bounds are part of the stored data (RequestHourly.buckets is positional): changing them
would need a migration that rewrites every row. Add new bounds past the end only.
"""

import bisect
import math
from collections.abc import Sequence

BOUNDS_US: tuple[int, ...] = tuple(round(100 * 2 ** (i / 4)) for i in range(78))  # 100 us .. ~62 s
BUCKETS = len(BOUNDS_US) + 1  # + the overflow bucket


def bucket_of(latency_us: int) -> int:
    """The bucket a latency (microseconds) is counted in."""
    return bisect.bisect_left(BOUNDS_US, latency_us)


def empty() -> list[int]:
    return [0] * BUCKETS


def merge(into: list[int], other: Sequence[int]) -> list[int]:
    """Add `other`'s counters to `into` (in place) and return it."""
    for i, n in enumerate(other):
        if n:
            into[i] += n
    return into


def percentile(buckets: Sequence[int], q: float) -> int | None:
    """The q-quantile (0 < q <= 1) of the latencies counted in `buckets`, in microseconds: the
    upper bound of the bucket holding the nearest-rank value (the last bound for the overflow
    bucket). None for an empty histogram."""
    total = sum(buckets)
    if total == 0:
        return None
    rank = max(1, math.ceil(q * total))
    seen = 0
    for i, n in enumerate(buckets):
        seen += n
        if seen >= rank:
            return BOUNDS_US[min(i, len(BOUNDS_US) - 1)]
    return BOUNDS_US[-1]  # unreachable: seen reaches total
