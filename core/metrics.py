"""The metrics convention, and the platform's own metrics (prometheus-client).

Each app declares its metrics in its own `<app>/metrics.py` (metering/metrics.py,
billing/metrics.py, auditing/metrics.py) and increments them where the event happens:

    from metering.metrics import METERING_FAIL_OPEN
    METERING_FAIL_OPEN.inc()

config/metrics.py imports every one of those modules, so /metrics lists each metric
from the first scrape, at zero, before anything happened.

Rules, so the dashboards and alerts in deploy/monitoring keep working:
- names start with `tollgate_`; counters end in `_total` once exported (prometheus-client
  adds the suffix); a unit in the name (`_seconds`, `_bytes`);
- labels stay low-cardinality: plans, windows, outcomes and task names, never a
  workspace or a key;
- gunicorn and Celery run several processes, so when PROMETHEUS_MULTIPROC_DIR is set
  prometheus-client keeps each value in a per-process file that the /metrics view and
  the worker exporter add up. Gauges therefore declare how processes combine:
  "mostrecent" for values measured about the whole platform (the last writer is right,
  whichever process it was), "livesum" for per-process counts. Without the variable
  (tests, `manage.py` commands) everything lives in this process.

Request count and duration by route and status come from django-prometheus (django_http_*).
"""

from prometheus_client import Counter, Gauge

CELERY_TASK_FAILURES = Counter(
    "tollgate_celery_task_failures_total",
    "Celery tasks that raised (after their last retry), by task name.",
    ["task"],
)
DB_CONNECTIONS_IN_USE = Gauge(
    "tollgate_db_connections_in_use",
    "Connections open to the application database (pg_stat_activity), measured at scrape.",
    multiprocess_mode="mostrecent",
)
DB_CONNECTIONS_MAX = Gauge(
    "tollgate_db_connections_max",
    "The server's max_connections less its reserved superuser slots, measured at scrape.",
    multiprocess_mode="mostrecent",
)
BACKUP_LAST_SUCCESS = Gauge(
    "tollgate_backup_last_success_timestamp_seconds",
    "Unix time of the last successful database backup (0: none on record).",
    multiprocess_mode="mostrecent",
)
