"""python manage.py erase_user --email E --yes: erase a person.

The account is anonymised and disabled, memberships and pending invitations go
(accounts.services.user_erase). Their audit events stay (the trail must still say what happened), under a pseudonym: name,
IP, user agent and every mention of their email are erased; the hash chains stay valid.
"""

from django.core.management.base import BaseCommand, CommandError

from accounts.selectors import user_by_email
from accounts.services import user_erase
from auditing.services import audit_subject_erase, pseudonym_for
from core.errors import DomainError
from tenants.selectors import audit_schemas


class Command(BaseCommand):
    help = "Pseudonymise a user in the audit trail of the platform and of every workspace (irreversible)."

    def add_arguments(self, parser):
        parser.add_argument("--email", required=True)
        parser.add_argument("--user-id", type=int, help="the user's id, when the account row is already gone")
        parser.add_argument("--yes", action="store_true", help="confirm: this cannot be undone")

    def handle(self, *args, email, user_id=None, yes=False, **options):
        if not yes:
            raise CommandError("Erasure cannot be undone. Run again with --yes to confirm.")
        user = user_by_email(email=email)
        if user is None and user_id is None:
            raise CommandError(f"No user with email {email!r}. Pass --user-id if the account was deleted.")
        uid = user.pk if user is not None else user_id
        try:
            if user is not None:
                changed = user_erase(user=user, actor=("operator", "manage.py"))
            else:
                changed = audit_subject_erase(user_id=uid, email=email.strip().lower(), schemas=audit_schemas(),
                                              actor=("operator", "manage.py"))
        except DomainError as exc:
            raise CommandError(exc.detail) from exc
        self.stdout.write(f"Erased user {uid} from the audit trail as {pseudonym_for(uid)}: "
                          f"{sum(changed.values())} rows in {len(changed)} schemas.")
