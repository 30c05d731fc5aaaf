from django.conf import settings
from django.contrib.auth.tokens import default_token_generator
from django.core.management.base import BaseCommand, CommandError
from django.db import transaction
from django.urls import reverse
from django.utils.encoding import force_bytes
from django.utils.http import urlsafe_base64_encode

from accounts.permissions import Role
from accounts.selectors import user_by_email
from accounts.services import membership_create, user_create
from core.errors import DomainError
from tenants.selectors import workspace_url
from tenants.services import workspace_create


class Command(BaseCommand):
    help = "Create a workspace (cloned schema) with an owner. The owner must exist or gets a password reset link."

    def add_arguments(self, parser):
        parser.add_argument("--slug", required=True)
        parser.add_argument("--name", required=True)
        parser.add_argument("--owner", required=True, help="owner's email; created without a password if new")
        parser.add_argument("--plan", default=None, help="plan slug (default: the free plan)")

    def handle(self, *args, slug, name, owner, plan, **options):
        try:
            with transaction.atomic():
                user = user_by_email(email=owner)
                if user is None:
                    user = user_create(email=owner, password=None)
                workspace = workspace_create(name=name, slug=slug, actor=("operator", user))
                membership_create(user=user, workspace=workspace, role=Role.OWNER)
                if plan:
                    from billing.services import subscription_set_plan

                    subscription_set_plan(workspace=workspace, plan_slug=plan, actor=("operator", user))
        except DomainError as exc:
            raise CommandError(exc.detail) from exc
        self.stdout.write(self.style.SUCCESS(f"Created workspace {workspace.slug}: {workspace_url(workspace)}"))
        if not user.has_usable_password():
            # Django's reset form skips accounts without a usable password, so a new owner
            # could never set one: hand the operator a one-time link to pass on.
            path = reverse("password_reset_confirm", kwargs={
                "uidb64": urlsafe_base64_encode(force_bytes(user.pk)), "token": default_token_generator.make_token(user),
            })
            self.stdout.write(f"{user.email} has no password yet. Send them this one-time link to choose one "
                              f"(valid {settings.PASSWORD_RESET_TIMEOUT // 3600} h): {workspace_url(workspace, path)}")
