"""Purging audit events past the retention period, in the schemas the caller names."""

import logging
from datetime import datetime, timedelta

from django.conf import settings
from django.db import transaction
from django.utils import timezone
from django_tenants.utils import schema_context

from auditing.models import AuditChainAnchor, AuditEvent
from auditing.services.guard import lock_chain, trigger_door

logger = logging.getLogger(__name__)


def audit_retention_apply(*, schemas: list[str], now: datetime | None = None, days: int | None = None) -> dict[str, int]:
    """Delete audit events and model history older than the retention period, in each of `schemas`
    (the caller names them: the public schema and every workspace's, tenants.selectors.audit_schemas).

    The only DELETE the audit trigger allows. Each schema keeps a chain anchor naming
    the last purged event, so its chain still verifies. Returns events purged per schema.
    """
    now = now or timezone.now()
    days = settings.AUDIT_RETENTION_DAYS if days is None else days
    if days < 1:
        raise ValueError("the audit retention period is at least one day")
    cutoff = now - timedelta(days=days)
    purged = {}
    for schema in schemas:
        purged[schema] = _purge_schema(schema=schema, cutoff=cutoff, now=now)
    return purged


def _purge_schema(*, schema: str, cutoff: datetime, now: datetime) -> int:
    from auditlog.models import LogEntry

    with transaction.atomic(durable=True), schema_context(schema):
        lock_chain(schema)
        # Events are chained in id order; purge a prefix so the rest still links up.
        last = (AuditEvent.objects.filter(occurred_at__lt=cutoff).order_by("-id")
                .values_list("id", "hash").first())
        count = 0
        with trigger_door("tollgate.audit_retention"):
            if last is not None:
                count, _ = AuditEvent.objects.filter(id__lte=last[0]).delete()
                AuditChainAnchor.objects.create(created_at=now, cutoff=cutoff, last_event_id=last[0],
                                                last_hash=last[1], purged=count)
            LogEntry.objects.filter(timestamp__lt=cutoff).delete()
    if count:
        logger.info("audit retention purged %s events before %s in %s", count, cutoff.isoformat(), schema)
    return count
