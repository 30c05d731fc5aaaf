"""Billing against the project's own Stripe-compatible server (tests/stripe_server), reached
through STRIPE_API_HOST as Stripe would be; its webhooks reach dj-stripe's real view (through
Django's test client, so they see the test's transaction). Nothing patches the stripe module."""

from datetime import UTC, date, datetime
from urllib.parse import urlsplit

import pytest
from django.conf import settings
from django.test import Client

from billing.models import Plan, Subscription
from billing.services import catalogue_ensure, subscription_set_plan
from metering.models import UsageDaily
from tests.stripe_server import FakeStripe


@pytest.fixture
def catalogue():
    return {p.slug: p for p in catalogue_ensure()}


def subscribe(workspace, plan_slug="pro", since=datetime(2026, 1, 1, tzinfo=UTC)):
    """The workspace on `plan_slug`, subscribed since `since` (before the periods tests close)."""
    sub = subscription_set_plan(workspace=workspace, plan_slug=plan_slug)
    Subscription.objects.filter(pk=sub.pk).update(started_at=since)
    sub.refresh_from_db()
    return sub


def usage(workspace, day: date, meter: str, units: int) -> None:
    """A day's total as the rollups would have written it (metering.pipeline.rollups)."""
    UsageDaily.objects.update_or_create(workspace_id=workspace.pk, day=day, meter=meter,
                                        defaults={"events": units, "units": units, "errors": 0})


def metered_plan(slug="metered", *, included=5, unit_amount=10, **extra) -> Plan:
    """A plan whose overage is reachable in a test: `included` requests, then `unit_amount` cents each."""
    return Plan.objects.create(slug=slug, name=slug.title(), monthly_price_cents=1000, sort_order=50,
                               limits={"meters": {"requests": {}}}, included={"requests": included},
                               overage={"requests": {"model": "per_unit", "unit_amount": unit_amount}}, **extra)


@pytest.fixture
def clock(monkeypatch):
    """Metering's clock, fixed mid-month (2026-11-15 12:00 UTC): the month's counters don't turn over."""
    from tests.metering.conftest import stop_clock

    return stop_clock(monkeypatch, datetime(2026, 11, 15, 12, tzinfo=UTC).timestamp())


STRIPE_KEY = "sk_test_" + "TollgateFakeStripeKey0123456789"
PRICES = {("startup", "month"): 2900, ("startup", "year"): 29000, ("pro", "month"): 9900, ("pro", "year"): 99000}


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
