"""`/metrics` in the Prometheus text format, for Prometheus only.

Not public: the caller shows `Authorization: Bearer <METRICS_TOKEN>` or comes from an
address in METRICS_ALLOWED_IPS (addresses or CIDR ranges, matched on REMOTE_ADDR, so
behind a proxy list the proxy's address or use the token). Anyone else gets an empty
401 (a token would be accepted) or 403 (no token is configured), never a hint.

Under gunicorn the values of every worker process are added up from
PROMETHEUS_MULTIPROC_DIR (deploy/gunicorn.conf.py); without that variable the
process's own registry is served. Platform-wide gauges (database connections, last
backup) are measured here, at scrape time, so they are right whichever process last
changed them.
"""

import hmac
import ipaddress
import logging
import os
from functools import lru_cache

import prometheus_client
from django.conf import settings
from django.db import connection
from django.http import HttpResponse
from django.views.decorators.cache import never_cache
from django_tenants.utils import schema_context
from prometheus_client import multiprocess

from auditing import metrics as _auditing_metrics  # noqa: F401  (listed at /metrics from the first scrape)
from billing import metrics as _billing_metrics  # noqa: F401
from core import metrics
from metering import metrics as _metering_metrics  # noqa: F401

logger = logging.getLogger(__name__)


@lru_cache(maxsize=8)
def _networks(allowed: tuple[str, ...]) -> tuple[ipaddress.IPv4Network | ipaddress.IPv6Network, ...]:
    return tuple(ipaddress.ip_network(item.strip(), strict=False) for item in allowed if item.strip())


def _address_allowed(remote_addr: str | None) -> bool:
    if not remote_addr:
        return False
    try:
        address = ipaddress.ip_address(remote_addr)
    except ValueError:
        return False
    return any(address in network for network in _networks(tuple(settings.METRICS_ALLOWED_IPS)))


def _token_matches(request) -> bool:
    expected = settings.METRICS_TOKEN
    scheme, _, given = request.META.get("HTTP_AUTHORIZATION", "").partition(" ")
    if not expected or scheme.lower() != "bearer":
        return False
    return hmac.compare_digest(given.strip().encode(), expected.encode())


def registry() -> prometheus_client.CollectorRegistry:
    """What to export: every process's files under gunicorn/Celery, else this process."""
    if os.environ.get("PROMETHEUS_MULTIPROC_DIR"):
        merged = prometheus_client.CollectorRegistry()
        multiprocess.MultiProcessCollector(merged)
        return merged
    return prometheus_client.REGISTRY


def refresh_platform_gauges() -> None:
    """Measure the database's connections and the last backup. A failure leaves the old values."""
    from auditing.models import AuditEvent

    try:
        with schema_context("public"), connection.cursor() as cursor:
            cursor.execute("SELECT count(*) FROM pg_stat_activity WHERE datname = current_database()")
            metrics.DB_CONNECTIONS_IN_USE.set(cursor.fetchone()[0])
            cursor.execute("SELECT current_setting('max_connections')::int"
                           " - current_setting('superuser_reserved_connections')::int")
            metrics.DB_CONNECTIONS_MAX.set(cursor.fetchone()[0])
            last = (AuditEvent.objects.filter(action="backup_completed")
                    .order_by("-occurred_at").values_list("occurred_at", flat=True).first())
            metrics.BACKUP_LAST_SUCCESS.set(last.timestamp() if last else 0)
    except Exception as exc:
        logger.warning("metrics: could not measure the database (%s)", exc.__class__.__name__)


@never_cache
def metrics_view(request):
    if not (_token_matches(request) or _address_allowed(request.META.get("REMOTE_ADDR"))):
        if settings.METRICS_TOKEN:
            return HttpResponse(status=401, headers={"WWW-Authenticate": 'Bearer realm="metrics"'})
        return HttpResponse(status=403)
    refresh_platform_gauges()
    return HttpResponse(prometheus_client.generate_latest(registry()), content_type=prometheus_client.CONTENT_TYPE_LATEST)
