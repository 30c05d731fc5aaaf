"""`manage.py create_operator_token --name N --scopes workspaces:read,monitoring:read
[--allow-ip CIDR ...] [--expires-in-days D]`.

The token alone goes to stdout (`TOKEN=$(manage.py create_operator_token ...)`); the note that
it is shown once goes to stderr. Only its digest is kept.
"""

from datetime import timedelta

from django.core.management.base import BaseCommand, CommandError
from django.utils import timezone

from core.errors import DomainError
from operators.scopes import SCOPES
from operators.services import operator_token_create


class Command(BaseCommand):
    help = "Create an operator token for the platform API (/api/platform/v1/) and print it once."

    def add_arguments(self, parser):
        parser.add_argument("--name", required=True, help="what uses it, e.g. 'billing sync'")
        parser.add_argument("--scopes", required=True, help=f"comma-separated: {', '.join(SCOPES)}")
        parser.add_argument("--allow-ip", action="append", default=[], metavar="CIDR",
                            help="only from these addresses (repeat; default: any)")
        parser.add_argument("--expires-in-days", type=int, default=None)

    def handle(self, *args, name, scopes, allow_ip, expires_in_days, **options):
        if expires_in_days is not None and expires_in_days < 1:
            raise CommandError("--expires-in-days is a whole number of days, at least 1.")
        expires_at = timezone.now() + timedelta(days=expires_in_days) if expires_in_days else None
        try:
            row, text = operator_token_create(name=name, scopes=scopes, allowed_ips=allow_ip, expires_at=expires_at,
                                              actor=("operator", "manage.py create_operator_token"))
        except DomainError as exc:
            raise CommandError(exc.detail) from exc
        where = ", ".join(row.allowed_ips) or "any address"
        self.stderr.write(f"Created operator token {row.name!r} ({row.prefix}; scopes {','.join(row.scopes)}; from "
                          f"{where}). Store it now: it is not shown again.")
        self.stdout.write(text)
