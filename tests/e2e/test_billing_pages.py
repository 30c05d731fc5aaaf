"""Billing pages in a real browser, at 1280 and 390 px: the dashboard's billing page (offline:
how to connect Stripe; the spend cap form), an invoice (and its print layout), the pricing page."""

from datetime import UTC, datetime

import pytest
from playwright.sync_api import expect

from tests.accounts.helpers import committed
from tests.e2e.support import off_loop

pytestmark = [pytest.mark.browser, committed]

WIDTHS = (1280, 390)


def _setup():
    from billing.invoicing.close import period_close
    from billing.models import Invoice, Plan, Subscription
    from billing.services import catalogue_ensure, subscription_set_plan
    from metering.models import UsageDaily
    from tenants.services import workspace_create
    from tests.conftest import add_member

    catalogue_ensure()
    workspace = workspace_create(name="Initech", slug="initech")
    owner = add_member(workspace, role="owner", email="ana@initech.test")
    subscription_set_plan(workspace=workspace, plan_slug="pro")
    Subscription.objects.filter(workspace=workspace).update(started_at=datetime(2026, 1, 1, tzinfo=UTC))
    UsageDaily.objects.create(workspace_id=workspace.pk, day=datetime(2026, 11, 9).date(), meter="requests",
                              events=1_234_567, units=1_234_567, errors=0)
    period_close(now=datetime(2026, 12, 1, 3, tzinfo=UTC))
    assert Plan.objects.filter(slug="pro").exists()
    return owner.email, Invoice.objects.get(workspace=workspace).pk


def _watched(page, complaints):
    """CSP refusals and script errors (console), and every failed response but the favicon
    (none is served; Chromium asks anyway and logs its 404 as a console error, hence the filter)."""
    page.on("console", lambda m: complaints.append(f"{m.type}: {m.text}")
            if m.type in ("error", "warning") and "Failed to load resource" not in m.text else None)
    page.on("pageerror", lambda e: complaints.append(f"pageerror: {e}"))
    page.on("response", lambda r: complaints.append(f"{r.status}: {r.url}")
            if r.status >= 400 and not r.url.endswith("/favicon.ico") else None)


def test_billing_invoice_and_pricing_pages_in_chromium(public_data_restored, site, browser, screenshot, password):
    port, url = site
    email, invoice_id = off_loop(_setup)
    for width in WIDTHS:
        page = browser.new_context(viewport={"width": width, "height": 900}).new_page()
        complaints: list[str] = []
        _watched(page, complaints)
        # given the owner signed in on the workspace's host
        page.goto(url("initech.localhost", "/login/"))
        page.fill("#id_username", email)
        page.fill("#id_password", password)
        page.click("button[type=submit]")
        # when they open Billing from the menu (behind its button at phone widths)
        toggle = page.locator(".menu-toggle")
        if toggle.is_visible():
            toggle.click()
        page.click("nav >> text=Billing")
        # then the plan, the offline notice, the preview, the cap form and the invoice are there
        expect(page.locator("#plan")).to_contain_text("Pro")
        expect(page.locator("#stripe-offline")).to_contain_text("STRIPE_SECRET_KEY")
        expect(page.locator("#invoices")).to_contain_text("$110.75")
        screenshot(page, f"billing-page-{width}")
        # when they set a spend cap of $20
        page.fill("#id_cap", "20")
        page.click("button:has-text('Save the cap')")
        expect(page.locator(".messages")).to_contain_text("Spend cap set to $20.00 a month.")
        expect(page.locator("#spend-cap")).to_contain_text("at most 1,400,000 requests this month")
        # and open the invoice
        page.click(f"#invoice-{invoice_id} a")
        expect(page.locator("#invoice")).to_contain_text("235 packages")
        screenshot(page, f"billing-invoice-{width}")
        page.emulate_media(media="print")
        expect(page.locator(".topbar")).to_be_hidden()
        screenshot(page, f"billing-invoice-print-{width}")
        # and the public pricing page
        page.emulate_media(media="screen")
        page.goto(url("localhost", "/pricing/"))
        expect(page.locator("#plan-pro")).to_contain_text("$0.05 per 1,000")
        screenshot(page, f"pricing-{width}")
        # nothing horizontal-scrolls the page at this width, and the CSP refused nothing
        assert page.evaluate("document.documentElement.scrollWidth") <= width
        assert complaints == []
        off_loop(_uncap)


def _uncap():
    from billing.services import spend_cap_set
    from tenants.models import Workspace

    spend_cap_set(workspace=Workspace.objects.get(slug="initech"), cap_cents=None)
