"""Overage onto the customer's next Stripe invoice: one Stripe invoice item per line, each
sent with an idempotency key of its own, so a period close that runs twice (a retry, a crash
after the first push) charges once: Stripe answers the repeated call with the first item.

The rating side hands over its lines (billing's InvoiceLine, or anything with the same three
fields); Stripe keeps an idempotency key for 24 hours, so the keys must be stable across
retries: the invoice's own id and the line's, never a time or a random value.
"""

from collections.abc import Iterable
from dataclasses import dataclass
from typing import Protocol

import stripe

from billing import selectors
from billing.errors import NoStripeSubscription
from billing.stripe import client
from tenants.models import Workspace


class Line(Protocol):
    description: str
    amount_cents: int
    idempotency_key: str


@dataclass(frozen=True)
class ItemLine:
    description: str
    amount_cents: int
    idempotency_key: str


def invoice_items_push(*, workspace: Workspace, lines: Iterable[Line], currency: str = "usd",
                       period: tuple[int, int] | None = None) -> list[str]:
    """Push `lines` (integer minor units; a zero line is skipped) as invoice items on the
    workspace's Stripe customer. Returns the Stripe item ids. Raises StripeNotConfigured,
    NoStripeSubscription (no Stripe customer), StripeUnavailable (retry the job: keys make it safe)."""
    client.require()
    sub = selectors.subscription_for(workspace=workspace)
    if sub is None or not sub.stripe_customer_id:
        raise NoStripeSubscription(f"Workspace {workspace.slug} has no Stripe customer to charge.")
    ids = []
    for line in lines:
        if not isinstance(line.amount_cents, int):
            raise TypeError("amounts are integer minor units")
        if line.amount_cents == 0:
            continue
        params: dict = {"customer": sub.stripe_customer_id, "amount": line.amount_cents, "currency": currency,
                        "description": line.description[:500],
                        "metadata": {"tollgate_workspace": str(workspace.pk), "tollgate_line": line.idempotency_key}}
        if sub.stripe_subscription_id:
            params["subscription"] = sub.stripe_subscription_id
        if period is not None:
            params["period"] = {"start": period[0], "end": period[1]}
        item = client.call(stripe.InvoiceItem.create, idempotency_key=f"tollgate:invoice-item:{line.idempotency_key}",
                           **params)
        ids.append(item.id)
    return ids
