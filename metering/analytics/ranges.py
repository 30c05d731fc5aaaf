"""The time ranges analytics are asked for: whole UTC hours, at most a year, checked once here
for the API and every other caller (bad input is an InvalidInput naming the parameter)."""

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from django.utils.dateparse import parse_date, parse_datetime

from core.errors import InvalidInput

GRANULARITIES = ("hour", "day")
GROUPINGS = ("key", "endpoint", "meter", "status")
MAX_SPAN = timedelta(days=366)
MAX_HOURS = 366 * 24


@dataclass(frozen=True)
class Range:
    start: datetime  # a UTC hour start, inclusive
    end: datetime  # a UTC hour start, exclusive

    @property
    def seconds(self) -> float:
        return (self.end - self.start).total_seconds()


def hour_floor(at: datetime) -> datetime:
    return at.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def hour_ceil(at: datetime) -> datetime:
    floor = hour_floor(at)
    return floor if floor == at else floor + timedelta(hours=1)


def range_of(start: datetime, end: datetime) -> Range:
    """[start, end) widened to whole UTC hours. Raises InvalidInput (field "from") when start is
    not before end or the span passes a year."""
    if start.tzinfo is None or end.tzinfo is None:
        raise InvalidInput("Times need a time zone (e.g. 2026-12-01T00:00:00Z).", field="from")
    if start >= end:
        raise InvalidInput("`from` must be before `to`.", field="from")
    if end - start > MAX_SPAN:
        raise InvalidInput("A range spans at most 366 days.", field="from")
    return Range(hour_floor(start), hour_ceil(end))


def _moment(value: str, field: str) -> datetime:
    parsed = None
    try:
        parsed = parse_datetime(value)
        if parsed is None and (day := parse_date(value)) is not None:
            parsed = datetime(day.year, day.month, day.day, tzinfo=UTC)
    except ValueError:
        parsed = None
    if parsed is None:
        raise InvalidInput(f"`{field}` is not a date or an ISO 8601 time: {value[:40]!r}.", field=field)
    if parsed.tzinfo is None:
        parsed = parsed.replace(tzinfo=UTC)  # a time without a zone is UTC, as every time here
    return parsed


def _hours(value: str) -> int:
    if not value.isdigit() or not 1 <= int(value) <= MAX_HOURS:
        raise InvalidInput(f"`hours` is a whole number from 1 to {MAX_HOURS}.", field="hours")
    return int(value)


def parse_range(params, *, now: datetime, default_hours: int = 24) -> Range:
    """The range of a query: `from` and `to` (ISO 8601 times or dates; `to` defaults to now),
    or `hours` (the last N hours up to now), not both; else the last `default_hours`.
    Raises InvalidInput naming the parameter."""
    start, end, hours = params.get("from"), params.get("to"), params.get("hours")
    if hours is not None and (start is not None or end is not None):
        raise InvalidInput("Give either `hours` or `from`/`to`, not both.", field="hours")
    if start is not None or end is not None:
        if start is None:
            raise InvalidInput("`to` needs a `from`.", field="from")
        lo = _moment(start, "from")
        hi = _moment(end, "to") if end is not None else now
        if lo >= hi:
            raise InvalidInput("`from` must be before `to`.", field="from" if end is None else "to")
        if hi - lo > MAX_SPAN:
            raise InvalidInput("A range spans at most 366 days.", field="to" if end is not None else "from")
        return range_of(lo, hi)
    count = _hours(hours) if hours is not None else default_hours
    return range_of(now - timedelta(hours=count), now)


def choice(params, name: str, allowed: tuple[str, ...], default: str | None) -> str | None:
    """A parameter that takes one of `allowed`. Raises InvalidInput naming it."""
    value = params.get(name)
    if value is None or value == "":
        return default
    if value not in allowed:
        raise InvalidInput(f"`{name}` is one of {', '.join(allowed)}; got {value[:40]!r}.", field=name)
    return value
