"""Stripe's webhooks through dj-stripe's real view: forged ones refused, replays and stale ones
harmless, dunning down to the free plan's limits and back, and overage invoice items charged once."""

import copy
import json
from datetime import timedelta
from http import HTTPStatus

from django.core import mail
from django.utils import timezone
from djstripe.models import Event

from billing.models import Subscription
from billing.stripe import invoice_items_push, sync
from billing.stripe.dunning import dunning_apply
from billing.stripe.invoice_items import ItemLine
from metering.policy import policy_for
from tests.billing.conftest import deliver
from tests.billing.test_stripe_flows import _audit, _post, subscribe
from tests.conftest import client_for


def _state(workspace):
    row = Subscription.objects.get(workspace=workspace)
    return (row.plan.slug, row.status, row.cancel_at_period_end, row.stripe_subscription_id)


def test_a_webhook_with_a_bad_signature_is_refused_and_changes_nothing(fake_stripe, committed, workspace, owner):
    client = client_for(workspace, owner)
    session = _post(client, "/api/v1/billing/checkout", {"plan": "pro"}).json()
    fake_stripe.checkout_complete(session["id"])

    statuses = deliver(fake_stripe, committed, secret="whsec_forged000000000000000000000000")

    assert set(statuses) == {HTTPStatus.BAD_REQUEST}
    assert not Event.objects.exists()
    row = Subscription.objects.filter(workspace=workspace).first()
    assert row is None or (row.plan.slug, row.stripe_subscription_id) == ("free", "")
    assert policy_for(workspace)["plan"] != "pro"
    assert not _audit(workspace, "subscription_created")


def test_a_tampered_body_is_refused(fake_stripe, committed, workspace, owner):
    subscribe(fake_stripe, committed, workspace, owner)
    event = copy.deepcopy(fake_stripe.events[-1])
    body = fake_stripe.payload(event)
    forged = body.replace(b'"livemode": false', b'"livemode": false ')  # any byte changed
    from tests.billing.conftest import django_sink
    from tests.stripe_server import sign

    endpoint = fake_stripe.of_kind("webhook_endpoint")[0]
    headers = {"Stripe-Signature": sign(body, endpoint["_secret"])}
    assert django_sink(endpoint["url"], forged, headers) == HTTPStatus.BAD_REQUEST
    assert django_sink(endpoint["url"], body, {}) == HTTPStatus.BAD_REQUEST  # no signature at all


def test_a_replayed_event_changes_nothing(fake_stripe, committed, workspace, owner):
    # given: a subscribed workspace, its events delivered once
    subscribe(fake_stripe, committed, workspace, owner)
    before = _state(workspace)
    audits = {a: len(_audit(workspace, a)) for a in ("subscription_created", "payment_succeeded", "plan_changed")}
    mails = len(mail.outbox)

    # when: Stripe sends every one of them again
    statuses = deliver(fake_stripe, committed, events=list(fake_stripe.events))

    # then: accepted (so Stripe stops retrying), and nothing moved
    assert set(statuses) == {HTTPStatus.OK}
    assert _state(workspace) == before
    assert {a: len(_audit(workspace, a)) for a in audits} == audits
    assert len(mail.outbox) == mails

    # when: the same happenings arrive again as new events (new ids: dj-stripe's own once-per-id
    # check does not see them), as Stripe may send for one change
    copies = [dict(copy.deepcopy(e), id=e["id"] + "dup") for e in fake_stripe.events]
    assert set(deliver(fake_stripe, committed, events=copies)) == {HTTPStatus.OK}

    # then: still nothing moved
    assert _state(workspace) == before
    assert {a: len(_audit(workspace, a)) for a in audits} == audits
    assert len(mail.outbox) == mails


def test_an_older_event_never_overwrites_newer_state(fake_stripe, committed, workspace, owner):
    # given: subscribed, then set to cancel at the period end; the events held back
    client, sub = subscribe(fake_stripe, committed, workspace, owner)
    fake_stripe.take_outbox()
    _post(client, "/api/v1/billing/cancel", {"at_period_end": True})
    newer = fake_stripe.take_outbox()
    assert [e["type"] for e in newer] == ["customer.subscription.updated"]
    older = [e for e in fake_stripe.events if e["type"] == "customer.subscription.created"]

    # when: the newer event arrives first, then the older one (a snapshot with no cancellation)
    deliver(fake_stripe, committed, events=newer)
    deliver(fake_stripe, committed, events=older)

    # then: the cancellation stands
    assert _state(workspace)[2] is True
    # and the guard itself: an older snapshot applied directly is refused
    row = Subscription.objects.get(workspace=workspace)
    stale = copy.deepcopy(older[0]["data"]["object"])
    assert sync.subscription_apply(data=stale, at=row.stripe_subscription_event_at - timedelta(seconds=1)) is None
    assert _state(workspace)[2] is True


def test_an_older_payment_failure_does_not_undo_a_newer_payment(fake_stripe, committed, workspace, owner):
    client, sub = subscribe(fake_stripe, committed, workspace, owner)
    fake_stripe.payments_fail(sub["customer"])
    fake_stripe.period_advance(sub["id"])
    failed = fake_stripe.take_outbox()
    invoice = next(e for e in failed if e["type"] == "invoice.payment_failed")["data"]["object"]
    fake_stripe.invoice_pay(invoice["id"])
    paid = fake_stripe.take_outbox()

    deliver(fake_stripe, committed, events=paid)
    deliver(fake_stripe, committed, events=failed)

    row = Subscription.objects.get(workspace=workspace)
    assert (row.status, row.past_due_since, row.payment_status) == ("active", None, "succeeded")


def test_dunning_falls_back_to_free_limits_and_paying_restores_them(fake_stripe, committed, workspace, owner):
    # given: a Pro workspace whose renewal payment fails
    client, sub = subscribe(fake_stripe, committed, workspace, owner)
    fake_stripe.payments_fail(sub["customer"])
    fake_stripe.period_advance(sub["id"])
    deliver(fake_stripe, committed)
    row = Subscription.objects.get(workspace=workspace)
    assert row.status == "past_due" and row.past_due_since is not None
    assert policy_for(workspace)["plan"] == "pro"  # within the grace period
    assert "Payment failed for Acme: action needed" in [m.subject for m in mail.outbox]
    assert [d["attempt_count"] for d in _audit(workspace, "payment_failed")] == [1]

    # when: the grace period has not passed, then has
    with committed():
        assert dunning_apply(now=row.past_due_since + timedelta(days=6)) == 0
    assert policy_for(workspace)["plan"] == "pro"
    with committed():
        assert dunning_apply(now=row.past_due_since + timedelta(days=7, seconds=1)) == 1
        assert dunning_apply(now=row.past_due_since + timedelta(days=8)) == 0  # once

    # then: the free plan's limits, saying why; the subscription still names Pro
    policy = policy_for(workspace)
    assert policy["plan"] == "free" and "payment" in policy["upgrade"] and "/billing/" in policy["upgrade"]
    body = client.get("/api/v1/billing/subscription").json()
    assert body["plan"] == "pro" and body["dunning"]["limited"] is True
    from django.template.loader import render_to_string

    banner = render_to_string("billing/_dunning_banner.html", {"dunning": body["dunning"]})
    assert "Free plan's limits until the open invoice is paid" in banner

    # when: the customer pays the open invoice
    open_invoice = next(i for i in fake_stripe.of_kind("invoice") if i["status"] == "open")
    fake_stripe.invoice_pay(open_invoice["id"])
    deliver(fake_stripe, committed)

    # then: Pro's limits on the next request
    assert policy_for(workspace)["plan"] == "pro"
    row.refresh_from_db()
    assert (row.status, row.past_due_since, row.dunning_limited_at) == ("active", None, None)
    assert client.get("/api/v1/billing/subscription").json()["dunning"] is None


def test_overage_invoice_items_are_charged_once_when_the_close_runs_twice(fake_stripe, committed, workspace, owner):
    client, sub = subscribe(fake_stripe, committed, workspace, owner)
    lines = [ItemLine("Requests over the included 100,000: 12,000 at $0.05 per 1,000", 60, "inv-7:line-1"),
             ItemLine("Nothing over", 0, "inv-7:line-2"),
             ItemLine("Analysis runs over: 40", 400, "inv-7:line-3")]

    first = invoice_items_push(workspace=workspace, lines=lines)
    second = invoice_items_push(workspace=workspace, lines=lines)  # the retried close job

    assert first == second and len(first) == 2
    items = fake_stripe.of_kind("invoiceitem")
    assert sorted(i["amount"] for i in items) == [60, 400]
    assert len(fake_stripe.requests_to("POST", "/v1/invoiceitems")) == 4  # asked twice, created once
    fake_stripe.period_advance(sub["id"])
    renewal = next(i for i in fake_stripe.of_kind("invoice") if i["billing_reason"] == "subscription_cycle")
    assert renewal["total"] == 9900 + 60 + 400


def test_invoice_items_refuse_float_amounts(fake_stripe, committed, workspace, owner):
    subscribe(fake_stripe, committed, workspace, owner)
    try:
        invoice_items_push(workspace=workspace, lines=[ItemLine("x", 0.6, "k")])  # type: ignore[arg-type]
    except TypeError:
        pass
    else:
        raise AssertionError("a float amount must be refused")
    assert not fake_stripe.of_kind("invoiceitem")


def test_offline_billing_says_how_to_connect_stripe_and_nothing_breaks(stripe_offline, workspace, owner):
    client = client_for(workspace, owner)

    for path, body in [("/api/v1/billing/checkout", {"plan": "pro"}), ("/api/v1/billing/portal", {}),
                       ("/api/v1/billing/change-plan", {"plan": "pro"}), ("/api/v1/billing/cancel", {}),
                       ("/api/v1/billing/reactivate", {})]:
        response = _post(client, path, body)
        assert response.status_code == HTTPStatus.CONFLICT, path
        problem = response.json()
        assert problem["code"] == "stripe_not_configured" and "STRIPE_SECRET_KEY" in problem["detail"]

    subscription = client.get("/api/v1/billing/subscription")
    invoices = client.get("/api/v1/billing/invoices")
    assert subscription.status_code == HTTPStatus.OK and subscription.json()["collection"] == "not_collected"
    assert invoices.status_code == HTTPStatus.OK and invoices.json() == {"data": []}
    with_dunning = dunning_apply(now=timezone.now())
    assert with_dunning == 0
    try:
        invoice_items_push(workspace=workspace, lines=[ItemLine("x", 5, "k")])
    except Exception as exc:  # noqa: BLE001
        assert getattr(exc, "code", "") == "stripe_not_configured"
    else:
        raise AssertionError("pushing invoice items offline must say Stripe is not connected")


def test_offline_operator_assigns_a_plan_in_admin(stripe_offline, workspace, owner):
    from billing.services import subscription_set_plan

    with_plan = subscription_set_plan(workspace=workspace, plan_slug="startup", actor=owner)

    assert with_plan.plan.slug == "startup"
    body = client_for(workspace, owner).get("/api/v1/billing/subscription").json()
    assert (body["plan"], body["collection"]) == ("startup", "not_collected")
    assert json.dumps(body)  # serialisable as it is
