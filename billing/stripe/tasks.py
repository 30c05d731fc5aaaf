"""Celery tasks of billing's Stripe side: the dunning check (beat). Owners' emails are
billing/stripe/notify.py's task."""

from celery import shared_task
from django.utils import timezone


@shared_task
def dunning_check() -> int:
    """Workspaces past their grace period fall back to the free plan's limits (hourly)."""
    from billing.stripe.dunning import dunning_apply

    return dunning_apply(now=timezone.now())
