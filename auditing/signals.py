"""What the audit trail tells the apps above it, without importing them (DESIGN.md, "Layers":
auditing is ground, like logging, and imports nothing above core)."""

from django.dispatch import Signal

# Sent once a critical event has committed. kwargs: schema_name, event_id, action.
# accounts (accounts/apps.py) emails the workspace's owners, or the operators for platform events.
critical_event_committed = Signal()
