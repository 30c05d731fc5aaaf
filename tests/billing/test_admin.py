"""Operators' billing admin: MRR and subscriptions, invoices per period, manual invoices, plan edits."""

from datetime import UTC, datetime
from http import HTTPStatus

import pytest

from billing.invoicing.close import period_close
from billing.models import Invoice, Plan, Subscription
from tests.billing.conftest import subscribe
from tests.conftest import client_for
from tests.factories import UserFactory


@pytest.fixture
def operator_client():
    return client_for(None, UserFactory(is_staff=True, is_superuser=True))


def test_subscriptions_list_shows_mrr_active_and_past_due(workspace, other_workspace, catalogue, operator_client):
    subscribe(workspace, "pro")
    subscribe(other_workspace, "startup")
    Subscription.objects.filter(workspace=other_workspace).update(status="past_due")
    html = operator_client.get("/admin/billing/subscription/").content.decode()
    assert '<td id="mrr">$148.00</td>' in html
    assert '<td id="active">1</td>' in html
    assert f"1 · {other_workspace.slug}" in html


def test_invoices_list_counts_invoices_per_period(workspace, catalogue, operator_client):
    subscribe(workspace, "pro")
    period_close(now=datetime(2026, 12, 1, 2, tzinfo=UTC))
    html = operator_client.get("/admin/billing/invoice/").content.decode()
    assert "<td>2026-11</td><td>1</td><td>1</td><td>$99.00</td>" in html


def test_manual_invoice_form_issues_a_finalised_invoice(workspace, catalogue, operator_client):
    response = operator_client.post("/admin/billing/invoice/manual/",
                                    {"workspace": workspace.slug, "description": "Setup", "amount_cents": 25000})
    assert response.status_code == HTTPStatus.FOUND
    invoice = Invoice.objects.get(workspace=workspace)
    assert (invoice.kind, invoice.status, invoice.total_cents) == ("manual", "finalized", 25000)


def test_manual_invoice_form_refuses_an_unknown_workspace(catalogue, operator_client):
    response = operator_client.post("/admin/billing/invoice/manual/",
                                    {"workspace": "nobody", "description": "Setup", "amount_cents": 25000})
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "No workspace has this address." in response.content.decode()
    assert not Invoice.objects.exists()


def test_plan_edit_with_a_bad_overage_price_is_refused_next_to_the_field(catalogue, operator_client):
    plan = Plan.objects.get(slug="pro")
    url = f"/admin/billing/plan/{plan.pk}/change/"
    form = operator_client.get(url).context["adminform"].form
    data = {name: form[name].value() for name in form.fields}
    data = {k: ("on" if v is True else "" if v in (False, None) else v) for k, v in data.items()}
    data["overage"] = '{"requests": {"model": "package", "package_size": 0, "amount": 5}}'
    response = operator_client.post(url, data)
    assert response.status_code == HTTPStatus.OK
    assert "package_size is a positive whole number" in response.content.decode()
    plan.refresh_from_db()
    assert plan.overage["requests"]["package_size"] == 1000
