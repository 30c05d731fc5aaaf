"""Billing periods: calendar months in UTC, [start, end) as dates."""

from datetime import UTC, date, datetime


def month_of(day: date) -> tuple[date, date]:
    """(first day, first day of the next month) of the month holding `day`."""
    start = day.replace(day=1)
    end = date(start.year + (start.month == 12), start.month % 12 + 1, 1)
    return start, end


def previous(day: date) -> tuple[date, date]:
    """The month before the one holding `day`."""
    start, _ = month_of(day)
    prev_end = start
    return month_of(date.fromordinal(prev_end.toordinal() - 1))[0], prev_end


def at_midnight(day: date) -> datetime:
    return datetime(day.year, day.month, day.day, tzinfo=UTC)


def label(start: date) -> str:
    return f"{start:%Y-%m}"
