"""STRIPE (dj-stripe 2.11): billing collection. https://dj-stripe.dev/ and https://docs.stripe.com/api

Without STRIPE_SECRET_KEY billing runs offline: plans are assigned in admin, invoices are
computed and shown as not collected, and the billing API's money-moving endpoints answer a
`stripe_not_configured` problem that says how to connect Stripe (billing/stripe/client.py).
"""

from config.env import env

STRIPE_SECRET_KEY = env("STRIPE_SECRET_KEY", default="")  # sk_live_... or sk_test_...; empty: offline
STRIPE_PUBLIC_KEY = env("STRIPE_PUBLIC_KEY", default="")
STRIPE_LIVE_MODE = STRIPE_SECRET_KEY.startswith(("sk_live_", "rk_live_"))
# Pinned: every call and the webhook endpoint use the version dj-stripe 2.11 reads
# (djstripe.settings.DjstripeSettings.DEFAULT_STRIPE_API_VERSION). Change both together.
STRIPE_API_VERSION = "2026-05-27.dahlia"
# Another Stripe-compatible server (the tests' own, tests/stripe_server): dj-stripe sets
# stripe.api_base from it. Only defined when set: dj-stripe warns (W002) whenever it exists.
if env("STRIPE_API_HOST", default=""):
    STRIPE_API_HOST = env("STRIPE_API_HOST")
# Since dj-stripe 2.9 webhooks are verified per WebhookEndpoint row (its own secret), at
# /stripe/webhook/<uuid>/: create it with `manage.py stripe_webhook_endpoint --base-url URL`.
DJSTRIPE_FOREIGN_KEY_TO_FIELD = "id"

# BILLING (billing/)
# Days a workspace keeps its paid plan's limits after a failed payment (then the free plan's).
BILLING_DUNNING_GRACE_DAYS = env.int("TOLLGATE_DUNNING_GRACE_DAYS", default=7)
