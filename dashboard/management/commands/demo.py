"""`manage.py demo`: a demo workspace to click through and call, idempotent.

Composes services of several apps (an entry point of the top layer, so billing and branding
alike): plans, owner/admin/manager/member logins, the `demo` workspace on Pro, an API key in
var/demo_api_key.txt, 30 days of sample usage through the usage pipeline
(billing/demo_usage.py), last month's invoice, and the demo company's branding.
"""

from datetime import timedelta
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone

from accounts.models import Membership, User
from accounts.permissions import Role
from apikeys import keys
from apikeys.models import ApiKey
from apikeys.services import apikey_create
from billing.demo_usage import DAYS, sample_usage_load
from billing.invoicing import periods
from billing.invoicing.close import invoices_finalise, invoices_open
from billing.services import catalogue_ensure, subscription_set_plan
from branding import selectors as branding_selectors
from branding.services import branding_update
from tenants.selectors import workspace_get, workspace_url
from tenants.services import workspace_create

KEY_FILE = Path(settings.BASE_DIR) / "var" / "demo_api_key.txt"
USERS = [
    ("owner@demo.tollgate.dev", "Olivia Owner", Role.OWNER),
    ("admin@demo.tollgate.dev", "Adam Admin", Role.ADMIN),
    ("manager@demo.tollgate.dev", "Max Manager", Role.MANAGER),
    ("member@demo.tollgate.dev", "Mia Member", Role.MEMBER),
]
PASSWORD = "tollgate-demo"
OPERATOR = ("operator@tollgate.dev", "tollgate-operator")


class Command(BaseCommand):
    help = "Load the demo workspace, users, plans, an API key and 30 days of usage (idempotent)."

    def handle(self, *args, **options):
        catalogue_ensure()
        with transaction.atomic():
            users = {}
            for email, name, _role in USERS:
                user = User.objects.filter(email=email).first() or User.objects.create_user(
                    email=email, password=PASSWORD, full_name=name)
                users[email] = user
            if not User.objects.filter(email=OPERATOR[0]).exists():
                User.objects.create_superuser(email=OPERATOR[0], password=OPERATOR[1], full_name="Operator")
            workspace = workspace_get(slug="demo") or workspace_create(name="Demo Inc", slug="demo")
            for email, _name, role in USERS:
                Membership.objects.get_or_create(user=users[email], workspace=workspace, defaults={"role": role})
            subscription_set_plan(workspace=workspace, plan_slug="pro")
        key_text = self._demo_key(workspace, users[USERS[0][0]])
        generated = sample_usage_load(workspace=workspace, owner=users[USERS[0][0]])
        self._last_month_invoice(workspace)
        self._branding(workspace, users[USERS[0][0]])
        self.stdout.write(self.style.SUCCESS("Demo ready."))
        self.stdout.write(f"  Dashboard:  {workspace_url(workspace, '/login/')}  (password {PASSWORD} for every login)")
        for email, _name, role in USERS:
            self.stdout.write(f"    {role.label:<8} {email}")
        self.stdout.write(f"  Operators:  {workspace_url(None, '/admin/')}  ({OPERATOR[0]} / {OPERATOR[1]})")
        self.stdout.write(f"  API key:    {KEY_FILE.relative_to(settings.BASE_DIR)} ({key_text[:20]}...)")
        self.stdout.write(f"  Usage:      {workspace_url(workspace, '/usage/')}  ({generated} sample requests added; "
                          f"{DAYS} days through the pipeline, billing/demo_usage.py)")

    def _demo_key(self, workspace, owner) -> str:
        if KEY_FILE.exists():
            text = KEY_FILE.read_text().strip()
            parsed = keys.parse(text)
            if parsed:
                row = ApiKey.objects.filter(key_id=parsed.key_id, workspace=workspace).first()
                if row and row.status == "active" and keys.matches(parsed.secret, row.digest):
                    return text
        _row, text = apikey_create(workspace=workspace, name="Demo key", scopes=["read", "write", "admin"], actor=owner)
        KEY_FILE.parent.mkdir(exist_ok=True)
        KEY_FILE.write_text(text + "\n")
        KEY_FILE.chmod(0o600)
        return text

    def _last_month_invoice(self, workspace) -> None:
        """One finalised invoice, for last month, rated from the sample usage's daily totals (the
        pipeline rolled them up); idempotent: one period invoice per workspace and month."""
        now = timezone.now()
        start, end = periods.previous(now.date())
        invoices_open(period_start=start, period_end=end, workspace_ids=[workspace.pk])
        invoices_finalise(now=max(now, periods.at_midnight(end) + timedelta(
            seconds=settings.BILLING_INVOICE_DRAFT_WINDOW_SECONDS)), workspace_ids=[workspace.pk])

    def _branding(self, workspace, owner) -> None:
        """The demo company's name, colours and texts, once (an operator's later edits stay)."""
        if branding_selectors.branding_get(workspace=workspace).company_name:
            return
        branding_update(workspace=workspace, actor=owner, company_name="Demo Inc", primary_color="#1f5fbf",
                        secondary_color="#0f2d5c", accent_color="#b3420f",
                        welcome_message="Welcome to Demo Inc's API dashboard.",
                        footer_text="Demo Inc, a sandbox made by manage.py demo", custom_css="")
