"""Calendar windows in UTC and the clock metering reads (replaceable in tests)."""

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
