"""manage.py delete_workspace --slug S [--confirm S]: delete a workspace and its schema, for good.

Without --confirm it shows what would go and deletes nothing. With --confirm repeating the
slug it drops the schema (all the workspace's private data) and deletes the workspace with
its domains, members, invitations, API keys and subscription in one transaction, audited as a
critical platform event (tenants.services.workspace_delete). django-tenants' delete_tenant
maps here: its own would drop the schema unaudited, leaving keys cached in every process.
"""

from django.core.management.base import BaseCommand, CommandError
from django.template.defaultfilters import filesizeformat

from core.errors import DomainError
from tenants.selectors import workspace_deletion_summary, workspace_get
from tenants.services import workspace_delete


class Command(BaseCommand):
    help = ("Delete a workspace for good: its schema and everything in it, its domains, members, keys and "
            "subscription. Shows what would go unless --confirm repeats the slug.")

    def add_arguments(self, parser):
        parser.add_argument("--slug", required=True)
        parser.add_argument("--confirm", metavar="SLUG", help="the slug again: this cannot be undone")

    def handle(self, *args, slug, confirm=None, **options):
        workspace = workspace_get(slug=slug)
        if workspace is None:
            raise CommandError(f"No workspace with slug {slug!r}.")
        summary = workspace_deletion_summary(workspace)
        related = ", ".join(f"{count} {name.lower()}" for name, count in summary["related"].items()) or "no other rows"
        self.stdout.write(f"Workspace {workspace.slug} ({workspace.name}): schema {summary['schema']} "
                          f"({summary['tables']} tables, {filesizeformat(summary['bytes'])}); {related}.")
        if confirm is None:
            raise CommandError(f"Nothing deleted. This cannot be undone: run again with --confirm {workspace.slug}")
        try:
            deleted = workspace_delete(workspace=workspace, confirm=confirm, actor=("operator", "manage.py"))
        except DomainError as exc:
            raise CommandError(exc.detail) from exc
        rows = ", ".join(f"{count} {label}" for label, count in sorted(deleted.items()))
        self.stdout.write(self.style.SUCCESS(f"Deleted workspace {workspace.slug}: schema {summary['schema']} dropped; "
                                             f"rows deleted: {rows}."))
