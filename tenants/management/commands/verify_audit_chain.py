"""python manage.py verify_audit_chain [--workspace S]: find the first broken link of each chain."""

from django.core.management.base import BaseCommand, CommandError

from auditing.selectors import audit_chain_verify
from tenants.models import Workspace
from tenants.selectors import workspace_get, workspace_list


class Command(BaseCommand):
    help = ("Verify the audit hash chain of the platform (public schema) and every workspace, or of one "
            "workspace. Exits with status 1 and names the first broken link when a chain is broken.")

    def add_arguments(self, parser):
        parser.add_argument("--workspace", metavar="SLUG", help="verify only this workspace's chain")

    def handle(self, *args, workspace=None, **options):
        targets: list[tuple[str, Workspace | None]]
        if workspace:
            found = workspace_get(slug=workspace)
            if found is None:
                raise CommandError(f"No workspace with slug {workspace!r}.")
            targets = [(f"workspace {found.slug}", found)]
        else:
            targets = [("platform", None), *[(f"workspace {w.slug}", w) for w in workspace_list()]]
        broken = []
        for name, target in targets:
            report = audit_chain_verify(workspace=target)
            if report.ok:
                redacted = f" ({report.redacted} with personal data erased)" if report.redacted else ""
                self.stdout.write(f"ok      {name}: {report.checked} events{redacted}")
            else:
                broken.append(name)
                self.stdout.write(self.style.ERROR(
                    f"BROKEN  {name}: first broken link at event {report.broken_at}: {report.reason} "
                    f"({report.checked} events before it verified)"))
        if broken:
            raise CommandError(f"audit chain broken in {', '.join(broken)}")
