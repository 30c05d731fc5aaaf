"""`manage.py demo`: a demo workspace to click through and call, idempotent.

Composes services of several apps (an entry point may): plans, users, the `demo`
workspace on Pro, an API key in var/demo_api_key.txt, 30 days of sample usage.
"""

import random
import uuid
from datetime import UTC, datetime, timedelta
from pathlib import Path

from django.conf import settings
from django.core.management.base import BaseCommand
from django.db import transaction
from django.utils import timezone
from django_tenants.utils import schema_context

from accounts.models import Membership, User
from accounts.permissions import Role
from apikeys import keys
from apikeys.models import ApiKey
from apikeys.services import apikey_create
from billing.invoicing import periods
from billing.invoicing.close import invoices_finalise, invoices_open
from billing.services import catalogue_ensure, subscription_set_plan
from core.errors import DomainError
from metering.models import UsageEvent
from metering.pipeline.partitions import kept_from, month_of, partitions_ensure
from metering.pipeline.rollups import rollup_range
from tenants.selectors import workspace_get, workspace_url
from tenants.services import workspace_create

KEY_FILE = Path(settings.BASE_DIR) / "var" / "demo_api_key.txt"
USERS = [
    ("owner@demo.tollgate.dev", "Olivia Owner", Role.OWNER),
    ("admin@demo.tollgate.dev", "Adam Admin", Role.ADMIN),
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
        self._sample_usage(workspace)
        self._last_month_invoice(workspace)
        self.stdout.write(self.style.SUCCESS("Demo ready."))
        self.stdout.write(f"  Dashboard:  {workspace_url(workspace, '/login/')}  ({USERS[0][0]} / {PASSWORD})")
        self.stdout.write(f"  Operators:  {workspace_url(None, '/admin/')}  ({OPERATOR[0]} / {OPERATOR[1]})")
        self.stdout.write(f"  API key:    {KEY_FILE.relative_to(settings.BASE_DIR)} ({key_text[:20]}...)")

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
        """One finalised invoice, for last month, rated from the sample usage's daily totals
        (idempotent: one period invoice per workspace and month)."""
        now = timezone.now()
        start, end = periods.previous(now.date())
        # The sample usage was written raw: roll up what retention keeps into the daily totals.
        since = max(datetime(start.year, start.month, start.day, tzinfo=UTC), kept_from(now))
        try:
            rollup_range(workspace_id=workspace.pk, schema_name=workspace.schema_name, start=since, end=now)
        except DomainError as exc:
            self.stdout.write(f"  (sample usage not rolled up: {exc.detail})")
        invoices_open(period_start=start, period_end=end, workspace_ids=[workspace.pk])
        invoices_finalise(now=max(now, periods.at_midnight(end) + timedelta(
            seconds=settings.BILLING_INVOICE_DRAFT_WINDOW_SECONDS)), workspace_ids=[workspace.pk])

    def _sample_usage(self, workspace) -> None:
        with schema_context(workspace.schema_name):
            if UsageEvent.objects.filter(request_id__startswith="demo-").exists():
                return
            rng = random.Random(42)  # noqa: S311 - sample data, not security
            now = datetime.now(tz=UTC).replace(minute=0, second=0, microsecond=0)
            rows = []
            for hour in range(30 * 24):
                at = now - timedelta(hours=hour)
                for _ in range(rng.randint(1, 6)):
                    rid = f"demo-{uuid.uuid4().hex}"
                    words = rng.randint(5, 400)
                    when = at + timedelta(minutes=rng.randint(0, 59))
                    common = {"event_id": rid, "request_id": rid, "key_id": "", "endpoint": "/api/v1/analyze",
                              "occurred_at": when}
                    rows.append(UsageEvent(meter="requests", units=1, **common))
                    rows.append(UsageEvent(meter="tokens", units=words, **common))
            # The raw table is partitioned by month: 30 days back reach last month.
            partitions_ensure(schema_name=workspace.schema_name, months={month_of(r.occurred_at) for r in rows})
            UsageEvent.objects.bulk_create(rows, batch_size=2000)
