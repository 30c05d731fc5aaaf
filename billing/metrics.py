"""Prometheus metrics of billing (see core/metrics.py); deploy/monitoring/alerts.yml watches PAYMENTS."""

from prometheus_client import Counter

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
