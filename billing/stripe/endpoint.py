"""The WebhookEndpoint Stripe sends to: made on Stripe with the pinned API version and the
events Tollgate handles, and mirrored by dj-stripe with its secret (webhooks are verified per
endpoint since dj-stripe 2.9), at /stripe/webhook/<uuid>/ on the public host."""

import uuid
from urllib.parse import urljoin

import stripe
from django.conf import settings
from django.urls import reverse
from djstripe.models import WebhookEndpoint

from billing.stripe import client

EVENTS = [
    "checkout.session.completed",
    "customer.subscription.created", "customer.subscription.updated", "customer.subscription.deleted",
    "invoice.paid", "invoice.payment_succeeded", "invoice.payment_failed",
]


def webhook_endpoint_create(*, base_url: str) -> WebhookEndpoint:
    """Create the endpoint on Stripe for `base_url` (scheme and host of the public site) and
    keep it, with its secret, in dj-stripe's table. Raises StripeNotConfigured, InvalidInput."""
    client.require()
    djstripe_uuid = uuid.uuid4()
    path = reverse("djstripe:djstripe_webhook_by_uuid", kwargs={"uuid": djstripe_uuid},
                   urlconf=settings.PUBLIC_SCHEMA_URLCONF)  # the public host serves it
    url = urljoin(base_url, path)
    data = client.call(stripe.WebhookEndpoint.create, url=url, enabled_events=EVENTS,
                       api_version=settings.STRIPE_API_VERSION, metadata={"djstripe_uuid": str(djstripe_uuid)})
    return WebhookEndpoint.sync_from_stripe_data(data, api_key=settings.STRIPE_SECRET_KEY)
