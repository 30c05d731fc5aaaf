"""`python manage.py verify_backup FILE`: restore into a scratch database and compare row counts."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from core.ops import backups


class Command(BaseCommand):
    help = ("Restore a backup into a scratch database on the same server, compare row counts per schema and "
            "table with the counts taken at backup time, then drop the scratch database.")

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path)
        parser.add_argument("--server-url", help="Another server for the scratch database (default: the app's).")
        parser.add_argument("--keep-scratch", action="store_true", help="Keep the scratch database to inspect it.")
        parser.add_argument("--no-progress", action="store_true", help="No progress bars.")

    def handle(self, *args, **options):
        server = backups.Target.from_url(options["server_url"]) if options["server_url"] else None
        try:
            result = backups.backup_verify(archive=options["file"], server=server, keep_scratch=options["keep_scratch"],
                                           progress=False if options["no_progress"] else None)
        except backups.BackupError as exc:
            raise CommandError(str(exc)) from exc
        summary = backups.per_schema(result["counts"])
        width = max((len(name) for name in summary), default=6)
        self.stdout.write(f"{'schema'.ljust(width)}  tables      rows")
        for schema, entry in sorted(summary.items()):
            self.stdout.write(f"{schema.ljust(width)}  {entry['tables']:>6}  {entry['rows']:>8}")
        self.stdout.write(self.style.SUCCESS(
            f"{options['file'].name} is good: {len(result['counts'])} tables restored with the same row counts as "
            f"{result['compared_with']}."))
