"""Prometheus metrics of the audit trail (default registry, served at /metrics)."""

from prometheus_client import Counter

# Alert on any increase. Labelled by action only: a bounded set, unlike workspaces.
CRITICAL_EVENTS = Counter(
    "tollgate_audit_critical_events",
    "Critical audit events committed, by action.",
    ["action"],
)
