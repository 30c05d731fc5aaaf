"""Billing against the project's own Stripe-compatible server (tests/stripe_server), reached
through STRIPE_API_HOST as Stripe would be; its webhooks reach dj-stripe's real view (through
Django's test client, so they see the test's transaction). Nothing patches the stripe module."""

from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.test import Client

from tests.stripe_server import FakeStripe

STRIPE_KEY = "sk_test_" + "TollgateFakeStripeKey0123456789"
PRICES = {("starter", "month"): 2900, ("starter", "year"): 29000, ("pro", "month"): 9900, ("pro", "year"): 99000}


@pytest.fixture(scope="session")
def _stripe_server():
    port = urlsplit(settings.STRIPE_API_HOST).port
    server = FakeStripe(port=port, api_key=STRIPE_KEY).start()
    yield server
    server.stop()


def django_sink(url: str, body: bytes, headers: dict) -> int:
    """Deliver a webhook to the app in this process (the test's transaction sees it)."""
    client = Client(HTTP_HOST=settings.BASE_DOMAIN)
    extra = {k: v for k, v in headers.items() if k.lower() != "content-type"}
    return client.post(urlsplit(url).path, data=body, content_type="application/json", headers=extra).status_code


@pytest.fixture
def stripe_offline(settings):
    settings.STRIPE_SECRET_KEY = ""


@pytest.fixture
def fake_stripe(_stripe_server, settings, committed):
    """Stripe connected: the fake with Tollgate's prices (by lookup key) and a webhook endpoint."""
    import stripe as stripe_lib

    from billing.stripe.endpoint import webhook_endpoint_create

    settings.STRIPE_SECRET_KEY = STRIPE_KEY
    fake = _stripe_server
    fake.reset()
    fake.sink = django_sink
    opts = {"api_key": STRIPE_KEY, "stripe_version": settings.STRIPE_API_VERSION}
    for (plan, interval), cents in PRICES.items():
        product = fake.objects.get(f"prod_{plan}") or stripe_lib.Product.create(id=f"prod_{plan}", name=plan.title(),
                                                                               **opts)
        stripe_lib.Price.create(product=product["id"], unit_amount=cents, currency="usd",
                                recurring={"interval": interval}, lookup_key=f"tollgate:{plan}:{interval}",
                                nickname=f"{plan.title()} ({interval})", **opts)
    fake.endpoint = webhook_endpoint_create(base_url="http://localhost")
    fake.requests.clear()
    return fake


def deliver(fake, committed, events=None, **kw):
    """Send the fake's queued webhooks; run what their commits would run (emails)."""
    with committed():
        return fake.deliver(events, **kw)
