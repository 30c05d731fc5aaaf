"""The fake's objects are Stripe's, as dj-stripe 2.11 reads them: each one it answers is
synced through djstripe.models.X.sync_from_stripe_data (a wrong shape fails here), and every
call carries the pinned API version."""

import stripe
from django.conf import settings
from djstripe import models as dj

from tests.billing.conftest import STRIPE_KEY


def _opts():
    return {"api_key": STRIPE_KEY, "stripe_version": settings.STRIPE_API_VERSION}


def test_every_object_the_fake_answers_syncs_through_djstripe(fake_stripe, workspace, owner):
    # given: a customer subscribed through Checkout, with an invoice item on its next invoice
    from billing.stripe.changes import subscription_checkout_start

    session = subscription_checkout_start(workspace=workspace, plan_slug="pro", interval="month",
                                          success_url="http://acme.localhost/billing/", cancel_url="http://x/")
    sub = fake_stripe.checkout_complete(session["id"])
    item = stripe.InvoiceItem.create(customer=sub["customer"], amount=150, currency="usd", description="overage",
                                     **_opts())
    fake_stripe.period_advance(sub["id"])

    # when: each object is fetched through stripe-python and synced by dj-stripe
    customer = dj.Customer.sync_from_stripe_data(stripe.Customer.retrieve(sub["customer"], **_opts()))
    price_data = stripe.Price.retrieve(sub["items"]["data"][0]["price"]["id"], expand=["product"], **_opts())
    price = dj.Price.sync_from_stripe_data(price_data)
    checkout = dj.Session.sync_from_stripe_data(
        stripe.checkout.Session.retrieve(session["id"], expand=["line_items"], **_opts()))
    subscription = dj.Subscription.sync_from_stripe_data(stripe.Subscription.retrieve(sub["id"], **_opts()))
    invoices = stripe.Invoice.list(customer=sub["customer"], **_opts())
    synced = [dj.Invoice.sync_from_stripe_data(stripe.Invoice.retrieve(i.id, **_opts())) for i in invoices.data]
    invoice_item = dj.InvoiceItem.sync_from_stripe_data(stripe.InvoiceItem.retrieve(item.id, **_opts()))
    event = stripe.Event.retrieve(fake_stripe.events[-1]["id"], **_opts())
    dj_event = dj.Event.sync_from_stripe_data(event)

    # then: dj-stripe holds them, linked as Stripe links them
    assert customer.email == "owner@acme.test"
    assert price.product.id == "prod_pro" and price.active and price.lookup_key == "tollgate:pro:month"
    assert checkout.customer == customer and checkout.subscription == subscription
    assert subscription.customer == customer and subscription.stripe_data["status"] == "active"
    assert [i.price.id for i in subscription.items.all()] == [price.id]
    assert len(synced) == 2 and all(i.customer == customer for i in synced)
    cycle = next(i for i in synced if i.stripe_data["billing_reason"] == "subscription_cycle")
    line_ids = [line["id"] for line in cycle.stripe_data["lines"]["data"]]
    # dj-stripe swallows a line it cannot sync (BaseInvoice._attach_objects_post_save_hook): count them
    assert sorted(line.amount for line in dj.LineItem.objects.filter(id__in=line_ids)) == [150, 9900]
    assert invoice_item.customer == customer and invoice_item.invoice == cycle
    assert dj_event.type == fake_stripe.events[-1]["type"]
    assert dj.WebhookEndpoint.objects.get(id=fake_stripe.endpoint.id).secret.startswith("whsec_")


def test_every_call_names_the_pinned_api_version(fake_stripe, workspace, owner):
    from billing.stripe.changes import subscription_checkout_start

    subscription_checkout_start(workspace=workspace, plan_slug="startup", interval="year",
                                success_url="http://acme.localhost/billing/", cancel_url="http://x/")
    assert fake_stripe.requests
    assert {r["stripe_version"] for r in fake_stripe.requests} == {settings.STRIPE_API_VERSION}
    assert fake_stripe.endpoint.api_version == settings.STRIPE_API_VERSION


def test_fake_refuses_a_reused_idempotency_key_with_other_parameters(fake_stripe):
    customer = stripe.Customer.create(email="a@b.test", idempotency_key="k1", **_opts())
    again = stripe.Customer.create(email="a@b.test", idempotency_key="k1", **_opts())
    assert again.id == customer.id
    try:
        stripe.Customer.create(email="other@b.test", idempotency_key="k1", **_opts())
    except stripe.IdempotencyError as exc:
        assert "same parameters" in exc.user_message
    else:
        raise AssertionError("a reused key with other parameters must be refused")
    assert len(fake_stripe.of_kind("customer")) == 1
