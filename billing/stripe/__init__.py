"""Billing's Stripe side: the one adapter that calls Stripe (client.py), the price catalogue's
lookup keys (prices.py), the services that start or change a subscription (changes.py), the
state Stripe's webhooks bring in (sync.py, webhooks.py), dunning (dunning.py), the overage
invoice items pushed at period close (invoice_items.py) and the webhook endpoint (endpoint.py).

Stripe is optional: without STRIPE_SECRET_KEY nothing here calls it, and the entry points
answer `stripe_not_configured` (billing.errors.StripeNotConfigured).
"""

from billing.stripe.invoice_items import ItemLine, invoice_items_push

__all__ = ["ItemLine", "invoice_items_push"]
