"""Every application metric Tollgate exports, in one place (prometheus-client).

Import the object and increment it where the event happens:

    from tenants.metrics import PAYMENTS
    PAYMENTS.labels(outcome="succeeded").inc()

gunicorn and Celery run several processes, so when PROMETHEUS_MULTIPROC_DIR is set
prometheus-client keeps each value in a per-process file that the /metrics view
(config/metrics.py) and the worker exporter add up. Gauges therefore declare how
processes combine: "mostrecent" for values measured about the whole platform (the
last writer is right, whichever process it was), "livesum" for per-process counts.
Without the variable (tests, `manage.py` commands) everything lives in this process.

Request count and duration by route and status come from django-prometheus
(django_http_*); the names below are Tollgate's own. Labels stay low-cardinality:
plans, windows, outcomes and task names, never a workspace or a key.
"""

from prometheus_client import Counter, Gauge

# METERING (metering engine, decorators and drain task)
RATE_LIMIT_EXCEEDED = Counter(
    "tollgate_rate_limit_exceeded_total",
    "Metered requests refused by a rate limit or quota, by plan and window.",
    ["plan", "window"],
)
USAGE_EVENTS_INGESTED = Counter(
    "tollgate_usage_events_ingested_total",
    "Usage events stored from the Redis stream into workspace schemas (an event read again is not counted again).",
)
USAGE_DRAIN_LAG = Gauge(
    "tollgate_usage_drain_lag_seconds",
    "Age of the oldest usage event still waiting in Redis when the drain last ran.",
    multiprocess_mode="mostrecent",
)
METERING_FAIL_OPEN = Counter(
    "tollgate_metering_fail_open_total",
    "Metered requests admitted without Redis (METERING_FAIL_MODE=open).",
)

# BILLING
SUBSCRIPTIONS_CREATED = Counter(
    "tollgate_subscriptions_created_total",
    "Subscriptions created, by plan.",
    ["plan"],
)
PAYMENTS = Counter(
    "tollgate_payments_total",
    "Payment attempts by outcome (succeeded, failed).",
    ["outcome"],
)
INVOICES = Counter(
    "tollgate_invoices_total",
    "Invoices issued at period close.",
)

# PLATFORM
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
