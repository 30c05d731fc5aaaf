"""Signals of tenants that layers above listen to (tenants imports none of them)."""

from django.dispatch import Signal

# A verified custom domain failed its check (branding.domains). Sent once the failure is
# committed with domain_id, failures (in a row) and dropped (it stopped routing). accounts,
# which knows the workspace's owners, emails them (accounts/apps.py).
domain_check_failed = Signal()
