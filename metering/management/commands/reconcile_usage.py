"""`manage.py reconcile_usage [--workspace SLUG] [--hour 2026-12-04T13:00]`.

Prints, per workspace, the hour's requests admitted in Redis, stored and rolled up, and
whether they agree (metering/pipeline/reconcile.py); a mismatch is recorded and audited as
the beat job does. Default: the last finished hour, every workspace with a counter for it.
"""

from datetime import UTC, datetime

from django.core.management.base import BaseCommand, CommandError

from metering.pipeline.reconcile import usage_reconcile
from tenants.selectors import workspace_get


class Command(BaseCommand):
    help = "Reconcile usage per workspace for one hour: admitted in Redis vs stored vs rolled up."

    def add_arguments(self, parser):
        parser.add_argument("--workspace", help="only this workspace (slug)")
        parser.add_argument("--hour", help="UTC hour start, e.g. 2026-12-04T13:00 (default: the last finished hour)")

    def handle(self, *args, workspace=None, hour=None, **options):
        targets = None
        if workspace:
            target = workspace_get(slug=workspace.strip().lower())
            if target is None:
                raise CommandError(f"No workspace with slug {workspace!r}.")
            targets = [target]
        at = None
        if hour:
            try:
                at = datetime.fromisoformat(hour)
            except ValueError:
                raise CommandError(f"--hour: {hour!r} is not a time (2026-12-04T13:00).") from None
            at = at.replace(tzinfo=UTC) if at.tzinfo is None else at.astimezone(UTC)
        results = usage_reconcile(hour=at, workspaces=targets)
        self.stdout.write(f"{'workspace':<24} {'hour (UTC)':<16} {'admitted':>9} {'stored':>9} {'rolled up':>9}  status")
        for r in results:
            admitted = "-" if r.admitted is None else str(r.admitted)
            self.stdout.write(f"{r.slug:<24} {r.hour:%Y-%m-%d %H:%M} {admitted:>9} {r.stored:>9} {r.rolled_up:>9}  "
                              f"{r.status}")
        flagged = sum(1 for r in results if r.flagged)
        self.stdout.write(f"{len(results)} checked, {flagged} mismatched.")
