"""`manage.py create_api_key --workspace SLUG [--name N] [--scopes read,write] [--test]`.

The key alone goes to stdout (so `KEY=$(manage.py create_api_key ...)` works); the note
that it is shown once goes to stderr. The key is printed once and never again.
"""

from django.core.management.base import BaseCommand, CommandError

from apikeys.services import apikey_create
from core.errors import DomainError
from tenants.selectors import workspace_get


class Command(BaseCommand):
    help = "Create an API key for a workspace and print it once."

    def add_arguments(self, parser):
        parser.add_argument("--workspace", required=True, help="the workspace's slug")
        parser.add_argument("--name", default="CLI key")
        parser.add_argument("--scopes", default="read,write", help="comma-separated: read, write, admin")
        parser.add_argument("--test", action="store_true", help="a test-mode key (tg_test_...)")

    def handle(self, *args, workspace, name, scopes, test, **options):
        target = workspace_get(slug=(workspace or "").strip().lower())
        if target is None:
            raise CommandError(f"No workspace with slug {workspace!r}. `manage.py create_workspace` makes one.")
        try:
            row, text = apikey_create(
                workspace=target, name=name, scopes=scopes, environment="test" if test else "live",
                actor=("operator", "manage.py create_api_key"),
            )
        except DomainError as exc:
            raise CommandError(exc.detail) from exc
        self.stderr.write(f"Created {row.name!r} ({row.prefix}, scopes {','.join(row.scopes)}) in {target.slug}. "
                          "Store the key now: it is not shown again.")
        self.stdout.write(text)
