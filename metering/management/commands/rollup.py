"""`manage.py rollup --workspace SLUG --from 2026-12-01 --to 2026-12-04T12:00`.

Recomputes the workspace's hourly rollups (and the daily totals of the days they touch) from
its raw usage events over [from, to): the same rows the drain's recomputes give. Times are
UTC; a date alone is its midnight.
"""

from datetime import UTC, datetime

from django.core.management.base import BaseCommand, CommandError

from core.errors import DomainError
from metering.pipeline.rollups import rollup_range
from tenants.selectors import workspace_get


def _when(value: str, name: str) -> datetime:
    try:
        at = datetime.fromisoformat(value)
    except ValueError:
        raise CommandError(f"--{name}: {value!r} is not a date or time (2026-12-01, 2026-12-01T13:00).") from None
    return at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)


class Command(BaseCommand):
    help = "Recompute a workspace's hourly usage rollups and daily totals over a range, from its raw events."

    def add_arguments(self, parser):
        parser.add_argument("--workspace", required=True, help="the workspace's slug")
        parser.add_argument("--from", dest="start", required=True, help="UTC date or time, inclusive")
        parser.add_argument("--to", dest="end", required=True, help="UTC date or time, exclusive")

    def handle(self, *args, workspace, start, end, **options):
        target = workspace_get(slug=(workspace or "").strip().lower())
        if target is None:
            raise CommandError(f"No workspace with slug {workspace!r}.")
        lo, hi = _when(start, "from"), _when(end, "to")
        try:
            written = rollup_range(workspace_id=target.pk, schema_name=target.schema_name, start=lo, end=hi)
        except DomainError as exc:
            raise CommandError(f"--{exc.extra.get('field', 'from')}: {exc.detail}") from exc
        self.stdout.write(f"{target.slug}: {written} hourly rollup rows from {lo:%Y-%m-%d %H:%M} to "
                          f"{hi:%Y-%m-%d %H:%M} UTC, and the daily totals of those days.")
