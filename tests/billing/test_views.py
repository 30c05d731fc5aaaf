"""Dashboard billing pages, the invoice page and the public pricing page."""

from datetime import UTC, datetime
from http import HTTPStatus

from accounts.permissions import Role
from billing.invoicing.close import period_close
from billing.models import Invoice, Subscription
from tests.billing.conftest import metered_plan, subscribe
from tests.conftest import add_member, client_for

CLOSED = datetime(2026, 12, 1, 2, tzinfo=UTC)


def test_billing_page_shows_plan_usage_preview_and_how_to_connect_stripe(workspace, owner, catalogue, settings):
    settings.STRIPE_SECRET_KEY = ""
    subscribe(workspace, "pro")
    response = client_for(workspace, owner).get("/billing/")
    assert response.status_code == HTTPStatus.OK
    html = response.content.decode()
    assert "Pro" in html and "$99.00 a month" in html
    assert 'id="stripe-offline"' in html and "STRIPE_SECRET_KEY" in html
    assert 'action="/billing/spend-cap/"' in html


def test_billing_page_is_for_admins_and_owners(workspace, catalogue):
    subscribe(workspace, "pro")
    member = add_member(workspace, Role.MEMBER)
    assert client_for(workspace, member).get("/billing/").status_code == HTTPStatus.FORBIDDEN
    admin = add_member(workspace, Role.ADMIN)
    page = client_for(workspace, admin).get("/billing/")
    assert page.status_code == HTTPStatus.OK and "Only owners can change the spend cap" in page.content.decode()


def test_billing_page_of_another_workspace_is_404(workspace, other_workspace, owner, catalogue):
    assert client_for(other_workspace, owner).get("/billing/").status_code == HTTPStatus.NOT_FOUND


def test_spend_cap_form_sets_the_cap(workspace, owner, catalogue, committed):
    metered_plan()
    subscribe(workspace, "metered")
    with committed():
        response = client_for(workspace, owner).post("/billing/spend-cap/", {"cap": "12.50"})
    assert response.status_code == HTTPStatus.FOUND
    assert Subscription.objects.get(workspace=workspace).spend_cap_cents == 1250


def test_spend_cap_form_shows_a_bad_value_next_to_the_field(workspace, owner, catalogue):
    metered_plan()
    subscribe(workspace, "metered")
    response = client_for(workspace, owner).post("/billing/spend-cap/", {"cap": "-3"})
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert 'class="field-error"' in response.content.decode()
    assert Subscription.objects.get(workspace=workspace).spend_cap_cents is None


def test_spend_cap_form_on_a_plan_without_overage_says_why(workspace, owner, catalogue):
    subscribe(workspace, "startup")
    response = client_for(workspace, owner).post("/billing/spend-cap/", {"cap": "10"})
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "bills no overage" in response.content.decode()


def test_spend_cap_form_needs_billing_manage(workspace, catalogue):
    metered_plan()
    subscribe(workspace, "metered")
    admin = add_member(workspace, Role.ADMIN)
    assert client_for(workspace, admin).post("/billing/spend-cap/", {"cap": "1"}).status_code == HTTPStatus.FORBIDDEN
    assert Subscription.objects.get(workspace=workspace).spend_cap_cents is None


def test_invoice_page_shows_lines_and_collection(workspace, owner, catalogue):
    subscribe(workspace, "pro")
    period_close(now=CLOSED)
    invoice = Invoice.objects.get(workspace=workspace)
    html = client_for(workspace, owner).get(f"/billing/invoices/{invoice.pk}/").content.decode()
    assert invoice.number in html and "Pro plan (monthly)" in html and "$99.00" in html and "Not collected" in html


def test_invoice_of_another_workspace_is_404(workspace, other_workspace, owner, catalogue):
    subscribe(other_workspace, "pro")
    period_close(now=CLOSED)
    theirs = Invoice.objects.get(workspace=other_workspace)
    assert client_for(workspace, owner).get(f"/billing/invoices/{theirs.pk}/").status_code == HTTPStatus.NOT_FOUND
    assert theirs.number not in client_for(workspace, owner).get("/billing/").content.decode()


def test_pricing_page_lists_the_plans_and_the_landing_links_it(catalogue):
    html = client_for(None).get("/pricing/").content.decode()
    for text in ("Free", "Startup", "$49.00", "$499.00", "Pro", "$99.00", "$0.05 per 1,000", "Enterprise", "$999.00"):
        assert text in html
    assert 'href="/pricing/"' in client_for(None).get("/").content.decode()
