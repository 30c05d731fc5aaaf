"""python manage.py export_user_data --email E [--output FILE]: everything held about a person, as JSON.

An entry point, so it composes reads of accounts and the layers below it (DESIGN.md), and, the one
exception in .importlinter, the keys a person created (apikeys is a layer above accounts): an export of
everything held about a person reads every app.
"""

import json
import sys

from django.core.management.base import BaseCommand, CommandError
from django.core.serializers.json import DjangoJSONEncoder
from django.db import transaction
from django.db.models import Q
from django.utils import timezone

from accounts.models import Invitation
from accounts.selectors import user_by_email
from apikeys.models import ApiKey
from auditing.selectors import audit_subject_events
from auditing.services import record
from tenants.selectors import workspace_list


def _history(user) -> list[dict]:
    from auditlog.models import LogEntry

    rows = LogEntry.objects.filter(actor_id=user.pk).order_by("id").values(
        "timestamp", "action", "object_repr", "changes", "cid", "remote_addr", "content_type__model", "object_pk")
    return list(rows)


def user_data(user) -> dict:
    memberships = user.memberships.select_related("workspace").order_by("created_at")
    return {
        "exported_at": timezone.now(),
        "user": {"id": user.pk, "email": user.email, "full_name": user.full_name, "is_active": user.is_active,
                 "is_staff": user.is_staff, "date_joined": user.date_joined, "last_login": user.last_login},
        "memberships": [{"workspace": m.workspace.slug, "workspace_name": m.workspace.name, "role": m.role,
                         "status": m.status, "created_at": m.created_at} for m in memberships],
        "invitations": [{"workspace": i.workspace.slug, "email": i.email, "role": i.role, "created_at": i.created_at,
                         "accepted_at": i.accepted_at, "revoked_at": i.revoked_at,
                         "invited_by_me": i.invited_by_id == user.pk}
                        for i in Invitation.objects.filter(Q(email__iexact=user.email) | Q(invited_by=user))
                        .select_related("workspace").order_by("created_at")],
        "api_keys_created": [{"workspace": k.workspace.slug, "prefix": k.prefix, "name": k.name,
                              "created_at": k.created_at, "revoked_at": k.revoked_at}
                             for k in ApiKey.objects.filter(created_by=user).select_related("workspace")
                             .order_by("created_at")],
        "audit_events": audit_subject_events(user_id=user.pk, email=user.email, workspaces=workspace_list()),
        "model_history": _history(user),
    }


class Command(BaseCommand):
    help = "Export everything the platform holds about a user (profile, memberships, keys, audit trail) as JSON."

    def add_arguments(self, parser):
        parser.add_argument("--email", required=True)
        parser.add_argument("--output", metavar="FILE", help="write here instead of standard output")

    def handle(self, *args, email, output=None, **options):
        user = user_by_email(email=email)
        if user is None:
            raise CommandError(f"No user with email {email!r}.")
        data = user_data(user)
        with transaction.atomic(durable=True):
            record(action="data_exported", actor=("operator", "manage.py"), resource=user,
                   details={"kind": "user_data", "audit_events": len(data["audit_events"])})
        text = json.dumps(data, cls=DjangoJSONEncoder, indent=2, sort_keys=True)
        if output:
            with open(output, "w", encoding="utf-8") as fh:
                fh.write(text + "\n")
            self.stderr.write(f"Wrote {len(text)} bytes about user {user.pk} to {output}")
        else:
            sys.stdout.write(text + "\n")
