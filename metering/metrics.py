"""Prometheus metrics of metering: the check, refusals and the usage drain (see core/metrics.py)."""

from prometheus_client import Counter, Gauge

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
USAGE_RECONCILE_MISMATCH = Counter(
    "tollgate_usage_reconcile_mismatches_total",
    "Workspace-hours whose requests admitted in Redis, stored and rolled up disagree (counted when first found).",
)
