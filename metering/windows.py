"""Calendar windows in UTC and the clock metering reads (replaceable in tests)."""

import math
import time
from datetime import UTC, datetime


def now() -> float:
    """Seconds since the epoch. Tests swap `metering.windows.clock` for a controllable one."""
    return clock()


clock = time.time

SECONDS = {"hour": 3600, "day": 86400}


def bounds(window: str, at: float) -> tuple[int, int]:
    """(start, end) epoch seconds of the calendar window containing `at`."""
    if window in SECONDS:
        size = SECONDS[window]
        start = int(at // size) * size
        return start, start + size
    if window == "month":
        moment = datetime.fromtimestamp(at, tz=UTC)
        first = datetime(moment.year, moment.month, 1, tzinfo=UTC)
        following = datetime(moment.year + (moment.month == 12), moment.month % 12 + 1, 1, tzinfo=UTC)
        return int(first.timestamp()), int(following.timestamp())
    raise ValueError(window)


def fixed_size(window: str) -> int | None:
    """The window's length in seconds, or None for a calendar month (it varies)."""
    return SECONDS.get(window)

# The order checks are made in (and RateLimit headers listed in).
WINDOWS_ORDER = ("hour", "day", "month", "credits")


# Burst windows (GCRA): a limit of `limit` requests per `burst_ms` lets one request in every
# burst_ms / limit ms, with up to `limit` at once. check.lua keeps the theoretical arrival time
# (TAT); the engine (from the script's reply) and /limits (from the TAT itself) both say where
# a window stands through these two, so they never disagree.

def burst_in_use(*, limit: int, burst_ms: int, tat_ms: float | None, at: float) -> int:
    """Requests of the burst in use at `at`, from the stored TAT (None: never used)."""
    ahead = (tat_ms or 0) - at * 1000
    return min(limit, math.ceil(ahead / (burst_ms / limit))) if ahead > 0 else 0


def burst_state(*, limit: int, burst_ms: int, in_use: int, at: float) -> tuple[int, float]:
    """(remaining, reset: epoch seconds when the burst is whole again) with `in_use` requests in use."""
    return (limit - in_use if in_use < limit else 0), at + burst_ms / 1000 * in_use / limit
