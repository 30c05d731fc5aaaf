"""`python manage.py backup`: pg_dump every schema into BACKUP_DIR, keep BACKUP_KEEP_DAYS days."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from core.ops import backups


class Command(BaseCommand):
    help = "Back up the whole database (every workspace schema) as a compressed pg_dump archive with a manifest."

    def add_arguments(self, parser):
        parser.add_argument("--dir", type=Path, help="Where to write the archive (default: BACKUP_DIR).")
        parser.add_argument("--keep-days", type=int, help="Delete archives older than this (default: BACKUP_KEEP_DAYS).")
        parser.add_argument("--no-progress", action="store_true", help="No progress bars.")

    def handle(self, *args, **options):
        try:
            result = backups.backup_create(directory=options["dir"], keep_days=options["keep_days"],
                                           progress=False if options["no_progress"] else None)
        except backups.BackupError as exc:
            raise CommandError(str(exc)) from exc
        self.stdout.write(self.style.SUCCESS(
            f"Backup written: {result.path} ({result.size / 1e6:.1f} MB, {result.schemas} schemas, "
            f"{result.tables} tables, {result.rows} rows, {result.seconds:.1f}s)"))
        for name in result.pruned:
            self.stdout.write(f"Removed old backup {name}")
