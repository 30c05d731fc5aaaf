"""`python manage.py restore FILE --database-url URL [--clean]`: load a backup into a database."""

from pathlib import Path

from django.core.management.base import BaseCommand, CommandError

from core.ops import backups


class Command(BaseCommand):
    help = ("Restore a backup archive into the database at --database-url. An empty database is filled; "
            "a database with tables is replaced only with --clean (destructive: asks for its name unless --noinput).")

    def add_arguments(self, parser):
        parser.add_argument("file", type=Path, help="A tollgate-*.dump archive written by `manage.py backup`.")
        parser.add_argument("--database-url", required=True, help="postgres://user:password@host:port/name")
        parser.add_argument("--clean", action="store_true",
                            help="Replace the database's contents: drop what the archive has, and schemas it hasn't.")
        parser.add_argument("--jobs", type=int, default=1,
                            help="Parallel restore jobs. Above 1 the restore is no longer one transaction.")
        parser.add_argument("--noinput", "--no-input", action="store_false", dest="interactive",
                            help="Don't ask for confirmation.")
        parser.add_argument("--no-progress", action="store_true", help="No progress bars.")

    def handle(self, *args, **options):
        try:
            target = backups.Target.from_url(options["database_url"])
        except (backups.BackupError, KeyError, ValueError) as exc:
            raise CommandError(f"Not a usable database URL: {exc.__class__.__name__}") from exc
        if options["clean"] and options["interactive"]:
            answer = input(f"This replaces everything in {target.label()}. Type the database name to go on: ")
            if answer.strip() != target.dbname:
                raise CommandError("Restore cancelled: nothing was changed.")
        try:
            result = backups.backup_restore(archive=options["file"], target=target, clean=options["clean"],
                                            jobs=options["jobs"], progress=False if options["no_progress"] else None)
        except backups.BackupError as exc:
            raise CommandError(str(exc)) from exc
        for schema in result["dropped_schemas"]:
            self.stdout.write(f"Dropped schema {schema} (not in the backup)")
        checked = "row counts match the backup's manifest" if result["differences"] == [] else "no manifest to compare"
        self.stdout.write(self.style.SUCCESS(
            f"Restored {options['file'].name} into {target.label()}: {result['tables']} tables, {result['rows']} rows; "
            f"{checked}."))
