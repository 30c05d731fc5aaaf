"""Subscriptions through Stripe end to end: the billing API calls the fake Stripe, the fake's
signed webhooks come back through dj-stripe's view, and the workspace's plan and limits follow."""

import json
from http import HTTPStatus

import pytest
from django.core import mail

from auditing.models import AuditEvent
from billing.models import Subscription
from metering.policy import policy_for
from tests.billing.conftest import deliver
from tests.conftest import client_for


def _post(client, path, body=None, **headers):
    return client.post(path, data=json.dumps(body or {}), content_type="application/json", headers=headers)


def _audit(workspace, action):
    from django_tenants.utils import schema_context

    with schema_context(workspace.schema_name):
        return list(AuditEvent.objects.filter(action=action).order_by("id").values_list("details", flat=True))


def subscribe(fake, committed, workspace, owner, plan="pro", interval="month"):
    client = client_for(workspace, owner)
    response = _post(client, "/api/v1/billing/checkout", {"plan": plan, "interval": interval})
    assert response.status_code == HTTPStatus.CREATED, response.content
    sub = fake.checkout_complete(response.json()["id"])
    assert set(deliver(fake, committed)) == {HTTPStatus.OK}
    return client, sub


def test_checkout_subscribes_the_workspace_and_its_limits_follow(fake_stripe, committed, workspace, owner):
    # given: the workspace on the free plan
    client = client_for(workspace, owner)

    # when: the owner starts Checkout and pays there
    response = _post(client, "/api/v1/billing/checkout", {"plan": "pro", "interval": "month"})
    assert response.status_code == HTTPStatus.CREATED, response.content
    assert response.json()["url"].startswith(fake_stripe.url + "/c/pay/cs_test_")
    sub = fake_stripe.checkout_complete(response.json()["id"])
    statuses = deliver(fake_stripe, committed)

    # then: dj-stripe took every event, the subscription is active on Pro, Pro's limits apply
    assert set(statuses) == {HTTPStatus.OK}
    row = Subscription.objects.get(workspace=workspace)
    assert (row.plan.slug, row.status, row.interval) == ("pro", "active", "month")
    assert row.stripe_subscription_id == sub["id"] and row.current_period_end is not None
    assert policy_for(workspace)["plan"] == "pro"
    assert [d["plan"] for d in _audit(workspace, "subscription_created")] == ["pro"]
    assert len(_audit(workspace, "payment_succeeded")) == 1  # invoice.paid and invoice.payment_succeeded: one payment
    subjects = [m.subject for m in mail.outbox]
    assert "Your Acme subscription has started" in subjects and "Payment received for Acme" in subjects
    assert all(m.to == ["owner@acme.test"] for m in mail.outbox)
    assert client.get("/api/v1/billing/subscription").json()["plan"] == "pro"


def test_upgrade_takes_effect_now_and_charges_the_prorated_difference(fake_stripe, committed, workspace, owner):
    client, sub = subscribe(fake_stripe, committed, workspace, owner, plan="startup")

    response = _post(client, "/api/v1/billing/change-plan", {"plan": "pro"})

    assert response.status_code == HTTPStatus.OK, response.content
    body = response.json()
    assert (body["change"], body["effective"]) == ("upgrade", "now") and "pro rata" in body["rule"]
    assert body["subscription"]["plan"] == "pro" and policy_for(workspace)["plan"] == "pro"
    proration = [i for i in fake_stripe.of_kind("invoice") if i["billing_reason"] == "subscription_update"]
    assert len(proration) == 1 and proration[0]["status"] == "paid" and proration[0]["total"] > 0
    deliver(fake_stripe, committed)
    assert Subscription.objects.get(workspace=workspace).plan.slug == "pro"
    assert [(d["from"], d["to"]) for d in _audit(workspace, "plan_changed")][-1] == ("startup", "pro")


def test_downgrade_waits_for_the_end_of_the_period(fake_stripe, committed, workspace, owner):
    client, sub = subscribe(fake_stripe, committed, workspace, owner, plan="pro")

    response = _post(client, "/api/v1/billing/change-plan", {"plan": "startup"})
    deliver(fake_stripe, committed)

    body = response.json()
    assert (body["change"], body["effective"]) == ("downgrade", "period_end") and body["effective_at"]
    row = Subscription.objects.get(workspace=workspace)
    assert row.plan.slug == "pro" and row.pending_plan.slug == "startup"
    assert policy_for(workspace)["plan"] == "pro"
    assert not [i for i in fake_stripe.of_kind("invoice") if i["billing_reason"] == "subscription_update"]

    # when: the period ends and Stripe renews at Startup's price
    fake_stripe.period_advance(sub["id"])
    deliver(fake_stripe, committed)

    row.refresh_from_db()
    assert row.plan.slug == "startup" and row.pending_plan is None
    assert policy_for(workspace)["plan"] == "startup"
    renewal = [i for i in fake_stripe.of_kind("invoice") if i["billing_reason"] == "subscription_cycle"]
    assert renewal[0]["total"] == 2900


def test_cancel_at_period_end_keeps_the_plan_until_then(fake_stripe, committed, workspace, owner):
    client, sub = subscribe(fake_stripe, committed, workspace, owner)

    response = _post(client, "/api/v1/billing/cancel", {"at_period_end": True})
    deliver(fake_stripe, committed)

    assert response.status_code == HTTPStatus.OK and response.json()["cancel_at_period_end"] is True
    assert policy_for(workspace)["plan"] == "pro"
    assert [d["at_period_end"] for d in _audit(workspace, "subscription_canceled")] == [True]

    fake_stripe.period_advance(sub["id"])
    deliver(fake_stripe, committed)

    row = Subscription.objects.get(workspace=workspace)
    assert (row.status, row.plan.slug) == ("canceled", "free") and policy_for(workspace)["plan"] == "free"
    assert [d["at_period_end"] for d in _audit(workspace, "subscription_canceled")] == [True, False]


def test_cancel_now_moves_to_free_at_once(fake_stripe, committed, workspace, owner):
    client, _ = subscribe(fake_stripe, committed, workspace, owner)

    response = _post(client, "/api/v1/billing/cancel", {"at_period_end": False})

    assert response.json()["status"] == "canceled" and policy_for(workspace)["plan"] == "free"
    deliver(fake_stripe, committed)  # customer.subscription.deleted: nothing left to change
    assert len(_audit(workspace, "subscription_canceled")) == 1
    again = _post(client, "/api/v1/billing/cancel", {"at_period_end": False})
    assert again.status_code == HTTPStatus.CONFLICT and again.json()["code"] == "subscription_ended"


def test_reactivate_undoes_a_cancellation_at_period_end(fake_stripe, committed, workspace, owner):
    client, sub = subscribe(fake_stripe, committed, workspace, owner)
    nothing = _post(client, "/api/v1/billing/reactivate")
    assert nothing.status_code == HTTPStatus.CONFLICT

    _post(client, "/api/v1/billing/cancel", {"at_period_end": True})
    response = _post(client, "/api/v1/billing/reactivate")
    deliver(fake_stripe, committed)

    assert response.status_code == HTTPStatus.OK and response.json()["cancel_at_period_end"] is False
    assert fake_stripe.objects[sub["id"]]["cancel_at_period_end"] is False
    assert len(_audit(workspace, "subscription_reactivated")) == 1
    fake_stripe.period_advance(sub["id"])
    deliver(fake_stripe, committed)
    assert Subscription.objects.get(workspace=workspace).status == "active"


def test_idempotency_key_replays_the_first_answer_and_refuses_another_body(fake_stripe, committed, workspace,
                                                                           owner):
    client = client_for(workspace, owner)

    first = _post(client, "/api/v1/billing/checkout", {"plan": "pro"}, **{"Idempotency-Key": "abc-1"})
    second = _post(client, "/api/v1/billing/checkout", {"plan": "pro"}, **{"Idempotency-Key": "abc-1"})
    other = _post(client, "/api/v1/billing/checkout", {"plan": "startup"}, **{"Idempotency-Key": "abc-1"})

    assert first.status_code == second.status_code == HTTPStatus.CREATED
    assert second.json() == first.json() and second.headers["Idempotent-Replayed"] == "true"
    assert len(fake_stripe.requests_to("POST", "/v1/checkout/sessions")) == 1
    assert other.status_code == HTTPStatus.CONFLICT and other.json()["code"] == "idempotency_key_reused"
    bad = _post(client, "/api/v1/billing/checkout", {"plan": "pro"}, **{"Idempotency-Key": "has space"})
    assert bad.status_code == HTTPStatus.BAD_REQUEST and bad.json()["code"] == "idempotency_key_invalid"


@pytest.mark.parametrize("role_fixture", ["admin_user", "manager", "member"])
def test_only_owners_change_billing(fake_stripe, workspace, role_fixture, request):
    user = request.getfixturevalue(role_fixture)
    client = client_for(workspace, user)

    response = _post(client, "/api/v1/billing/checkout", {"plan": "pro"})

    assert response.status_code == HTTPStatus.FORBIDDEN
    assert not fake_stripe.requests
    can_read = client.get("/api/v1/billing/subscription").status_code
    assert can_read == (HTTPStatus.OK if role_fixture == "admin_user" else HTTPStatus.FORBIDDEN)


def test_an_admin_key_made_by_an_admin_cannot_change_billing(fake_stripe, api_client, workspace, owner, admin_user):
    from apikeys.services import apikey_create

    _, owners_key = apikey_create(workspace=workspace, name="o", scopes=["admin"], actor=owner)
    _, admins_key = apikey_create(workspace=workspace, name="a", scopes=["admin"], actor=admin_user)

    refused = api_client.post("/api/v1/billing/checkout", {"plan": "pro"}, format="json",
                              HTTP_AUTHORIZATION=f"Bearer {admins_key}")
    allowed = api_client.post("/api/v1/billing/checkout", {"plan": "pro"}, format="json",
                              HTTP_AUTHORIZATION=f"Bearer {owners_key}")

    assert refused.status_code == HTTPStatus.FORBIDDEN
    assert allowed.status_code == HTTPStatus.CREATED


def test_another_workspaces_billing_is_invisible(fake_stripe, committed, workspace, other_workspace, owner):
    from tests.conftest import add_member

    # given: acme on Pro; globex, no subscription yet
    _, acme_sub = subscribe(fake_stripe, committed, workspace, owner)
    globex_owner = add_member(other_workspace, role="owner", email="owner@globex.test")
    client = client_for(other_workspace, globex_owner)

    sub = client.get("/api/v1/billing/subscription").json()
    assert sub["plan"] != "pro" and sub["stripe_subscription"] == ""
    assert client.get("/api/v1/billing/invoices").json() == {"data": []}
    portal = _post(client, "/api/v1/billing/portal")
    assert portal.status_code == HTTPStatus.CONFLICT and portal.json()["code"] == "no_stripe_subscription"

    # when: globex subscribes too
    subscribe(fake_stripe, committed, other_workspace, globex_owner, plan="startup")

    # then: each sees its own subscription and invoices only
    acme = client_for(workspace, owner)
    globex_invoices = {i["id"] for i in client.get("/api/v1/billing/invoices").json()["data"]}
    acme_invoices = {i["id"] for i in acme.get("/api/v1/billing/invoices").json()["data"]}
    assert globex_invoices and acme_invoices and not globex_invoices & acme_invoices
    assert client.get("/api/v1/billing/subscription").json()["stripe_subscription"] != acme_sub["id"]
    assert acme.get("/api/v1/billing/subscription").json()["plan"] == "pro"
