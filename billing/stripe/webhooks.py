"""Stripe's webhooks, after dj-stripe has verified them (per WebhookEndpoint secret, at
/stripe/webhook/<uuid>/) and stored the event once: receivers run inside dj-stripe's
transaction, so a failure here rolls the event back and Stripe retries it.

dj-stripe's own receivers mirror the objects into its tables; these move the workspace's
Subscription, from the object the event carries and the event's `created` time (sync.py)."""

import logging

import stripe
from djstripe.event_handlers import djstripe_receiver
from djstripe.models import Event

from billing.stripe import client, sync

logger = logging.getLogger(__name__)


@djstripe_receiver("checkout.session.completed")
def on_checkout_completed(sender, event: Event, **kwargs) -> None:
    session = event.data["object"]
    workspace = sync.workspace_of(session)
    if workspace is None or session.get("mode") != "subscription":
        logger.warning("checkout session %s belongs to no workspace; ignored", session.get("id"))
        return
    if session.get("customer"):
        sync.customer_link(workspace=workspace, customer_id=session["customer"])
    if session.get("subscription"):
        # The subscription as it is now (at least as new as this event), so the workspace has
        # its plan whichever of this event and customer.subscription.created comes first.
        data = client.as_dict(client.call(stripe.Subscription.retrieve, session["subscription"]))
        sync.subscription_apply(data=data, at=event.created)


@djstripe_receiver(["customer.subscription.created", "customer.subscription.updated",
                    "customer.subscription.deleted"])
def on_subscription_event(sender, event: Event, **kwargs) -> None:
    # The subscription as it is now, not as the event shows it (Stripe's and dj-stripe's advice:
    # events come late and out of order); an event older than the last one applied is skipped
    # before that (sync.subscription_apply's guard), so a stale event never even asks.
    snapshot = event.data["object"]
    if sync.is_stale(data=snapshot, at=event.created):
        return
    data = client.as_dict(client.call(stripe.Subscription.retrieve, snapshot["id"]))
    sync.subscription_apply(data=data, at=event.created)


@djstripe_receiver(["invoice.paid", "invoice.payment_succeeded"])
def on_invoice_paid(sender, event: Event, **kwargs) -> None:
    sync.payment_apply(invoice=event.data["object"], at=event.created, succeeded=True)


@djstripe_receiver("invoice.payment_failed")
def on_invoice_payment_failed(sender, event: Event, **kwargs) -> None:
    sync.payment_apply(invoice=event.data["object"], at=event.created, succeeded=False)
