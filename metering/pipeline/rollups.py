"""Hourly rollups of raw usage (workspace schema) and daily totals (public schema).

Rollups are derived, never edited in place: an hour's rows are deleted and recomputed from
the raw events whole, so the result depends only on the raw events, whatever order or how
often events arrive (a late spool replay or a drain catching up recomputes the hours it
touched) and `manage.py rollup` over any range reproduces it exactly. A day's totals are
recomputed from its hourly rows the same way. The one exception: an hour whose raw events
were dropped on retention can't be recomputed, so an event arriving that late is added to
its rollups (rollup_add), and `rollup` refuses such ranges.

One workspace's recomputes run one at a time (a transaction-level advisory lock, taken by
the drain before it inserts): a recompute reading before another drain's commit would
otherwise write a total that misses that drain's rows.

Status class: a numeric status is grouped as "2xx", "4xx", "5xx"; anything else (the drain
stores "admitted" today: the response status is known only after the view, issue 21's
in-process histograms) is its own class. errors counts 4xx and 5xx.
"""

from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta

from django.db import connection, transaction
from django.utils import timezone
from django_tenants.utils import schema_context

from core.errors import InvalidInput
from metering.models import UsageDaily, UsageEvent, UsageHourly
from metering.pipeline.partitions import kept_from, partitions_list

RAW, HOURLY, DAILY = UsageEvent._meta.db_table, UsageHourly._meta.db_table, UsageDaily._meta.db_table
# Shared with the drain's insert (metering/pipeline/drain.py), which groups what it stored the same way.
CLASS = "CASE WHEN status ~ '^[1-5][0-9][0-9]$' THEN left(status, 1) || 'xx' ELSE status END"
ERRORS = "count(*) FILTER (WHERE status ~ '^[45][0-9][0-9]$')"

# Hours are UTC hours; the bounds let PostgreSQL prune the raw table's months.
_HOURLY = (f"INSERT INTO {HOURLY} (hour, key_id, endpoint, meter, status_class, events, units, errors) "  # noqa: S608 - constants
           f"SELECT date_trunc('hour', occurred_at, 'UTC') AS h, key_id, endpoint, meter, {CLASS}, count(*), "
           f"sum(units), {ERRORS} FROM {RAW} WHERE occurred_at >= %(lo)s AND occurred_at < %(hi)s "
           "AND date_trunc('hour', occurred_at, 'UTC') = ANY(%(hours)s) GROUP BY 1, 2, 3, 4, 5")
_DAILY = (f'INSERT INTO public."{DAILY}" (workspace_id, day, meter, events, units, errors) '  # noqa: S608 - constants
          f"SELECT %(ws)s, (hour AT TIME ZONE 'UTC')::date, meter, sum(events), sum(units), sum(errors) "
          f"FROM {HOURLY} WHERE hour >= %(lo)s AND hour < %(hi)s "
          "AND (hour AT TIME ZONE 'UTC')::date = ANY(%(days)s) GROUP BY 2, 3")


def hour_of(at: datetime) -> datetime:
    return at.astimezone(UTC).replace(minute=0, second=0, microsecond=0)


def lock_workspace(*, workspace_id: int) -> None:
    """Hold the workspace's rollup lock until the caller's transaction ends."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_advisory_xact_lock(hashtextextended(%s, 0))", [f"usage-rollup:{workspace_id}"])


def rollup_hours(*, workspace_id: int, schema_name: str, hours: Iterable[datetime]) -> int:
    """Recompute the hourly rollups of `hours` (UTC hour starts) from the raw events, and the
    daily totals of their days, in the caller's transaction (the drain's batch). Returns the
    number of hourly rows written."""
    hours = sorted({hour_of(h) for h in hours})
    if not hours:
        return 0
    days = sorted({h.date() for h in hours})
    with schema_context(schema_name), transaction.atomic(savepoint=False), connection.cursor() as cursor:
        lock_workspace(workspace_id=workspace_id)
        cursor.execute(f"DELETE FROM {HOURLY} WHERE hour = ANY(%s)", [hours])  # noqa: S608 - constant
        cursor.execute(_HOURLY, {"lo": hours[0], "hi": hours[-1] + timedelta(hours=1), "hours": hours})
        written = cursor.rowcount
        cursor.execute(f'DELETE FROM public."{DAILY}" WHERE workspace_id = %s AND day = ANY(%s)',  # noqa: S608
                       [workspace_id, days])
        lo = datetime(days[0].year, days[0].month, days[0].day, tzinfo=UTC)
        hi = datetime(days[-1].year, days[-1].month, days[-1].day, tzinfo=UTC) + timedelta(days=1)
        cursor.execute(_DAILY, {"ws": workspace_id, "lo": lo, "hi": hi, "days": days})
    return written


_ADD_HOURLY = (f"INSERT INTO {HOURLY} AS h (hour, key_id, endpoint, meter, status_class, events, units, errors) "  # noqa: S608
               "SELECT * FROM unnest(%s::timestamptz[], %s::varchar[], %s::varchar[], %s::varchar[], %s::varchar[], "
               "%s::bigint[], %s::bigint[], %s::bigint[]) ON CONFLICT (hour, key_id, endpoint, meter, status_class) "
               "DO UPDATE SET events = h.events + EXCLUDED.events, units = h.units + EXCLUDED.units, "
               "errors = h.errors + EXCLUDED.errors")
_ADD_DAILY = (f'INSERT INTO public."{DAILY}" AS d (workspace_id, day, meter, events, units, errors) '  # noqa: S608
              "SELECT %s, * FROM unnest(%s::date[], %s::varchar[], %s::bigint[], %s::bigint[], %s::bigint[]) "
              "ON CONFLICT (workspace_id, day, meter) DO UPDATE SET events = d.events + EXCLUDED.events, "
              "units = d.units + EXCLUDED.units, errors = d.errors + EXCLUDED.errors")


def rollup_add(*, workspace_id: int, schema_name: str, groups: list[tuple]) -> None:
    """Add newly stored events, grouped as rollup rows (hour, key_id, endpoint, meter,
    status_class, events, units, errors), to the hourly rollups and daily totals, in the
    caller's transaction.

    Only for hours whose raw events were dropped on retention (an event arriving that late:
    a drain catching up after a long outage): recomputing such an hour would keep only the
    late events and lose what the rollup had.
    """
    if not groups:
        return
    days: dict[tuple[date, str], list[int]] = {}
    for hour, _key, _endpoint, meter, _status, events, units, errors in groups:
        total = days.setdefault((hour.astimezone(UTC).date(), meter), [0, 0, 0])
        total[0], total[1], total[2] = total[0] + events, total[1] + units, total[2] + errors
    with schema_context(schema_name), transaction.atomic(savepoint=False), connection.cursor() as cursor:
        lock_workspace(workspace_id=workspace_id)
        cursor.execute(_ADD_HOURLY, [list(column) for column in zip(*groups, strict=True)])
        cursor.execute(_ADD_DAILY, [workspace_id, [d for d, _ in days], [m for _, m in days],
                                    *([t[i] for t in days.values()] for i in range(3))])


def rollup_range(*, workspace_id: int, schema_name: str, start: datetime, end: datetime) -> int:
    """Recompute every hour from `start` (rounded down to its hour) to before `end`: the
    result is the same rows as the drain's recomputes made. Returns the hourly rows written.

    Raises InvalidInput when `start` is not before `end`, or when the range reaches back
    before the raw events kept (months dropped, or due to be, on retention: recomputing would
    wipe rollups that can't be rebuilt).
    """
    if start >= end:
        raise InvalidInput("The start of the range must be before its end.", field="from")
    months = partitions_list(schema_name=schema_name)
    kept = max(kept_from(timezone.now()), datetime(months[0].year, months[0].month, 1, tzinfo=UTC)) if months else None
    if kept is None or start < kept:
        since = f"{kept:%Y-%m-%d}" if kept else "nothing"
        raise InvalidInput(f"Raw events are kept from {since} on (older months were dropped on retention); "
                           "rollups before that can't be recomputed and are kept as they are.", field="from")
    first, hours = hour_of(start), []
    while first < end:
        hours.append(first)
        first += timedelta(hours=1)
    with transaction.atomic(durable=True):
        return rollup_hours(workspace_id=workspace_id, schema_name=schema_name, hours=hours)


def hourly_rows(*, schema_name: str, start: datetime, end: datetime) -> list[tuple]:
    """The hourly rollups of [start, end), in a stable order (what `rollup` and tests compare)."""
    with schema_context(schema_name):
        return list(UsageHourly.objects.filter(hour__gte=start, hour__lt=end)
                    .order_by("hour", "key_id", "endpoint", "meter", "status_class")
                    .values_list("hour", "key_id", "endpoint", "meter", "status_class", "events", "units", "errors"))


def daily_rows(*, workspace_id: int, start: date, end: date) -> list[tuple]:
    """The workspace's daily totals of [start, end) (public schema), in a stable order."""
    with schema_context("public"):
        return list(UsageDaily.objects.filter(workspace_id=workspace_id, day__gte=start, day__lt=end)
                    .order_by("day", "meter").values_list("day", "meter", "events", "units", "errors"))
