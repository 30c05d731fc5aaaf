"""Monthly partitions of the raw usage table (UsageEvent) in each workspace's schema.

The table is partitioned by occurred_at (UTC calendar months, migration 0004), so retention
drops whole months (DROP TABLE of a partition: no row-by-row DELETE, no bloat, no vacuum debt)
and the unique (event_id, meter, occurred_at) that makes a replay add nothing is checked in
one month's index only.

There is no default partition: a row whose month has no partition would fail its batch, so
the drain makes the months of each batch before inserting it (partitions_ensure, in the
batch's transaction), and the daily maintenance makes the current and next month ahead of
time, so the drain normally creates nothing. A late event older than the retention gets its
month back until the next maintenance drops it again: it is counted in the rollups by then.

Raw events are kept at least USAGE_RAW_RETENTION_DAYS: a month is dropped once its end is
that far in the past (so 30 days keeps between 30 and 61 days of raw events).
"""

import re
from collections.abc import Iterable
from datetime import UTC, date, datetime, timedelta

from django.conf import settings
from django.db import connection, transaction
from django_tenants.utils import schema_context, schema_exists

from metering.models import UsageEvent
from tenants.models import Workspace

TABLE = UsageEvent._meta.db_table
_NAME = re.compile(rf"^{TABLE}_p(\d{{4}})(\d{{2}})$")

# (schema, month) whose partition exists: filled only after a commit that made or saw it,
# so a rolled-back creation is never taken for one that exists.
_known: set[tuple[str, date]] = set()


def month_of(at: datetime) -> date:
    """The first day of `at`'s calendar month in UTC."""
    at = at.astimezone(UTC)
    return date(at.year, at.month, 1)


def next_month(month: date) -> date:
    return date(month.year + month.month // 12, month.month % 12 + 1, 1)


def kept_from(now: datetime, retention_days: int | None = None) -> datetime:
    """The start of the oldest month partitions_maintain keeps at `now`: raw events before it
    are dropped (or about to be)."""
    days = settings.USAGE_RAW_RETENTION_DAYS if retention_days is None else retention_days
    month = month_of(now - timedelta(days=days))
    return datetime(month.year, month.month, 1, tzinfo=UTC)


def partition_name(month: date) -> str:
    return f"{TABLE}_p{month:%Y%m}"


def _create_sql(month: date) -> str:
    return (f'CREATE TABLE IF NOT EXISTS "{partition_name(month)}" PARTITION OF "{TABLE}" '
            f"FOR VALUES FROM ('{month:%Y-%m-%d} 00:00:00+00') TO ('{next_month(month):%Y-%m-%d} 00:00:00+00')")


def partitions_ensure(*, schema_name: str, months: Iterable[date]) -> None:
    """Make the partitions of `months` in the workspace's schema, in the caller's transaction
    (the drain's batch). Months known to exist cost nothing."""
    missing = sorted({m for m in months if (schema_name, m) not in _known})
    if not missing:
        return
    with schema_context(schema_name), transaction.atomic(savepoint=False), connection.cursor() as cursor:
        for month in missing:
            cursor.execute(_create_sql(month))
        transaction.on_commit(lambda: _known.update((schema_name, m) for m in missing))


def partitions_list(*, schema_name: str) -> list[date]:
    """The months that have a partition in the workspace's schema, oldest first."""
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_inherits i JOIN pg_class c ON c.oid = i.inhrelid "
            "JOIN pg_class p ON p.oid = i.inhparent JOIN pg_namespace n ON n.oid = p.relnamespace "
            "WHERE n.nspname = %s AND p.relname = %s", [schema_name, TABLE])
        names = [row[0] for row in cursor.fetchall()]
    return sorted(date(int(m[1]), int(m[2]), 1) for m in map(_NAME.match, names) if m)


def partitions_maintain(*, schema_name: str, now: datetime, retention_days: int | None = None) -> list[date]:
    """Make the current and next month's partitions and drop every month whose end is more
    than the retention (USAGE_RAW_RETENTION_DAYS) ago. Returns the months dropped."""
    current = month_of(now)
    with schema_context(schema_name), transaction.atomic(), connection.cursor() as cursor:
        partitions_ensure(schema_name=schema_name, months=[current, next_month(current)])
        kept = kept_from(now, retention_days).date()
        dropped = [m for m in partitions_list(schema_name=schema_name) if m < kept]
        for month in dropped:
            cursor.execute(f'DROP TABLE "{partition_name(month)}"')
        transaction.on_commit(lambda: _known.difference_update((schema_name, m) for m in dropped))
    return dropped


def partitions_maintain_all(*, now: datetime) -> int:
    """partitions_maintain in every workspace's schema (the daily beat job; the template's
    too, so new workspaces are cloned with this month's and next month's partitions).
    Returns how many months were dropped."""
    schemas = list(Workspace.objects.exclude(schema_name="public").order_by("pk")
                   .values_list("schema_name", flat=True))
    if schema_exists(settings.TENANT_BASE_SCHEMA):
        schemas.append(settings.TENANT_BASE_SCHEMA)
    return sum(len(partitions_maintain(schema_name=s, now=now)) for s in schemas)
