"""The Celery app. Tasks carry their workspace's schema (tenant-schemas-celery)."""

import os

from celery.schedules import crontab  # noqa: F401  (used by beat entries as they are added)
from tenant_schemas_celery.app import CeleryApp as TenantAwareCeleryApp

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "config.settings.local")

app = TenantAwareCeleryApp("tollgate")
app.config_from_object("django.conf:settings", namespace="CELERY")
app.autodiscover_tasks()

# The beat schedule lives in code, next to the tasks it runs.
app.conf.beat_schedule = {
    "metering-drain-usage": {"task": "metering.tasks.drain_usage", "schedule": 5.0},
    "apikeys-flush-last-used": {"task": "apikeys.tasks.flush_last_used", "schedule": 60.0},
    "tenants-backup-nightly": {"task": "core.tasks.backup_nightly", "schedule": crontab(hour=2, minute=30)},
    "auditing-retention": {"task": "tenants.tasks.apply_audit_retention", "schedule": crontab(hour=3, minute=15)},
}
