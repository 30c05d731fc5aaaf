"""The Celery app. Tasks carry their workspace's schema (tenant-schemas-celery)."""

import os

from celery.schedules import crontab  # noqa: F401  (used by beat entries as they are added)
from tenant_schemas_celery.app import CeleryApp as TenantAwareCeleryApp

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

app = TenantAwareCeleryApp("tollgate")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# The beat schedule lives in code, next to the tasks it runs; every entry names a registered task
# (tests/ops/test_celery.py). Keys' last_used_at has no entry: the times are noted in the memory
# of the web process that served the request, and that process's own thread writes them once a
# minute (apikeys/last_used.py); a Celery worker holds none to flush.
app.conf.beat_schedule = {
    "metering-drain-usage": {"task": "metering.tasks.drain_usage", "schedule": 5.0},
    # Every 5 min: an hour's requests counter, read by the check, expires an hour after it ends.
    "metering-reconcile-usage": {"task": "metering.tasks.reconcile_usage", "schedule": 300.0},
    "metering-usage-partitions": {"task": "metering.tasks.maintain_usage_partitions",
                                  "schedule": crontab(hour=0, minute=20)},
    "tenants-backup-nightly": {"task": "core.tasks.backup_nightly", "schedule": crontab(hour=2, minute=30)},
    # Daily: a verified custom domain whose TXT record is gone is dropped after
    # DOMAIN_MAX_FAILURES days in a row (branding/domains.py).
    "branding-recheck-domains": {"task": "branding.tasks.recheck_domains", "schedule": crontab(hour=4, minute=5)},
    # Hourly: workspaces whose payment is overdue past BILLING_DUNNING_GRACE_DAYS get the free plan's limits.
    "billing-dunning-check": {"task": "billing.stripe.tasks.dunning_check", "schedule": crontab(minute=7)},
    "auditing-retention": {"task": "tenants.tasks.apply_audit_retention", "schedule": crontab(hour=3, minute=15)},
    # Every 10 min: drafts for the month that ended, finalised once their draft window passed.
    "billing-close-periods": {"task": "billing.tasks.close_periods", "schedule": 600.0},
    # Every 5 min: spend-cap alerts (80 % / 100 % of the owner's budget); the refusal itself is immediate.
    "billing-spend-cap-alerts": {"task": "billing.tasks.spend_cap_alerts", "schedule": 300.0},
}
