"""A new customer's first session in real Chromium: sign up on a plan, create a key and see it
once, call the API with it, then every dashboard page at desktop and phone widths, with no
sideways scroll, no console error and no CSP violation. Screenshots: test-artifacts/dashboard-*."""

import http.client
import json
import re

import pytest
from django.core import mail
from playwright.sync_api import expect

from tests.accounts.helpers import committed
from tests.e2e.support import off_loop

pytestmark = [pytest.mark.browser, committed]

WIDTHS = {"desktop": 1280, "phone": 390}
DASHBOARD_PAGES = ["/", "/keys/", "/keys/new/", "/members/", "/audit/", "/settings/"]
PUBLIC_PAGES = ["/", "/signup/", "/login/", "/terms/", "/privacy/", "/no-such-page/"]


class Watcher:
    """Every console error and uncaught exception of a page; Chromium reports CSP violations
    ("Refused to ...") as console errors too."""

    def __init__(self, page):
        self.problems: list[str] = []
        page.on("console", lambda m: self.problems.append(f"console {m.type}: {m.text}") if m.type == "error" else None)
        page.on("pageerror", lambda e: self.problems.append(f"page error: {e}"))

    def take(self, *, allow_status: int | None = None) -> list[str]:
        found = [p for p in self.problems
                 if not (allow_status and f"status of {allow_status}" in p)]  # the 404 page's own status
        self.problems.clear()
        return found


def _no_sideways_scroll(page) -> tuple[int, int]:
    return page.evaluate("[document.documentElement.scrollWidth, document.documentElement.clientWidth]")


def _call_api(port: int, host: str, key: str) -> tuple[int, dict]:
    """POST /api/v1/analyze as a client would, to the workspace's host (on loopback)."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    connection.request("POST", "/api/v1/analyze", body=json.dumps({"text": "I love this API"}),
                       headers={"Host": f"{host}:{port}", "Authorization": f"Bearer {key}",
                                "Content-Type": "application/json"})
    response = connection.getresponse()
    try:
        return response.status, json.loads(response.read())
    finally:
        connection.close()


def test_new_customer_signs_up_on_a_plan_makes_a_key_calls_the_api_and_every_page_fits(
        public_data_restored, site, browser, screenshot):
    port, url = site
    context = browser.new_context(viewport={"width": WIDTHS["desktop"], "height": 900})
    page = context.new_page()
    watch = Watcher(page)

    # given a visitor who signs up on the Startup plan
    page.goto(url("localhost", "/signup/?plan=startup"))
    expect(page.locator("#id_plan")).to_have_value("startup")
    page.fill("#id_full_name", "Ana Lima")
    page.fill("#id_email", "ana@initech.test")
    page.fill("#id_password", "a sound passphrase 42")
    page.fill("#id_workspace_name", "Initech")
    page.fill("#id_slug", "initech")
    page.click("button:has-text('Create workspace')")
    expect(page.locator("h1")).to_have_text("Check your email")
    confirm = re.search(r"http://\S+/signup/confirm/\S+/", mail.outbox[0].body).group(0)

    # when they confirm from the emailed link
    page.goto(confirm)
    expect(page.locator("main")).to_contain_text("on the Startup plan")
    page.click("button:has-text('Create workspace')")

    # then the overview greets them on their own host, on the plan they chose, with what to do next
    expect(page).to_have_url(url("initech.localhost", "/"))
    expect(page.locator("#plan")).to_contain_text("Startup")
    expect(page.locator("#step-plan")).to_have_class(re.compile(r"\bdone\b"))
    expect(page.locator("#step-key")).not_to_have_class(re.compile(r"\bdone\b"))
    expect(page.locator("#curl-example")).to_contain_text(url("initech.localhost", "/api/v1/analyze"))
    expect(page.locator("nav a[aria-current=page]")).to_have_text("Overview")
    expect(page.locator("nav a", has_text="Audit log")).to_have_count(1)
    assert watch.take() == []

    # when they create a key
    page.click("nav >> text=API keys")
    page.click("text=Create a key")
    page.fill("#id_name", "production server")
    page.click("button:has-text('Create key')")

    # then they see it once
    secret = page.locator("#new-key").inner_text().strip()
    assert secret.startswith("tg_live_")
    screenshot(page, "dashboard-key-shown-once")
    page.reload()
    expect(page).to_have_url(url("initech.localhost", "/keys/"))
    expect(page.locator(".messages")).to_contain_text("its secret is shown only once")
    assert secret not in page.content()

    # when they call the API with it
    status, body = _call_api(port, "initech.localhost", secret)

    # then the call is served, and the overview ticks off the first call
    assert status == 200 and "sentiment" in json.dumps(body)
    page.goto(url("initech.localhost", "/"))
    expect(page.locator("#step-call")).to_have_class(re.compile(r"\bdone\b"))
    expect(page.locator("#step-key")).to_have_class(re.compile(r"\bdone\b"))
    screenshot(page, "dashboard-overview-after-first-call")

    # and every dashboard page fits a desktop and a phone, with no console error or CSP violation
    for label, width in WIDTHS.items():
        page.set_viewport_size({"width": width, "height": 900})
        for path in DASHBOARD_PAGES:
            page.goto(url("initech.localhost", path))
            page.wait_for_load_state("load")
            scroll, client = _no_sideways_scroll(page)
            name = "home" if path == "/" else path.strip("/").replace("/", "-")
            screenshot(page, f"dashboard-{label}-{name}")
            assert scroll <= client, f"{path} at {width}px is {scroll}px wide"
            assert watch.take() == [], path
        page.goto(url("initech.localhost", "/no-such-page/"))
        expect(page.locator("h1")).to_have_text("Page not found")
        screenshot(page, f"dashboard-{label}-404")
        assert watch.take(allow_status=404) == []

    # at phone width the navigation is a menu that opens and shows where you are
    page.set_viewport_size({"width": WIDTHS["phone"], "height": 900})
    page.goto(url("initech.localhost", "/members/"))
    expect(page.locator("nav a", has_text="Members")).to_be_hidden()
    page.click("button.menu-toggle")
    expect(page.locator("nav a[aria-current=page]")).to_have_text("Members")
    screenshot(page, "dashboard-phone-menu-open")

    # a destructive action asks first, in a dialog, and only then happens
    page.set_viewport_size({"width": WIDTHS["desktop"], "height": 900})
    page.goto(url("initech.localhost", "/keys/"))
    page.click("button:has-text('Revoke')")
    dialog = page.locator("#confirm-dialog")
    expect(dialog).to_be_visible()
    expect(dialog).to_contain_text("This cannot be undone")
    screenshot(page, "dashboard-confirm-dialog")
    dialog.locator("button:has-text('Cancel')").click()
    expect(page.locator("#keys")).to_contain_text("active")
    page.click("button:has-text('Revoke')")
    dialog.locator("button:has-text('Confirm')").click()
    expect(page.locator(".messages")).to_contain_text("is revoked")
    assert watch.take() == []

    # and the public site too: every page styled, the 404 included
    public = browser.new_context().new_page()
    public_watch = Watcher(public)
    for label, width in WIDTHS.items():
        public.set_viewport_size({"width": width, "height": 900})
        for path in PUBLIC_PAGES:
            response = public.goto(url("localhost", path))
            scroll, client = _no_sideways_scroll(public)
            name = "landing" if path == "/" else path.strip("/")
            screenshot(public, f"public-{label}-{name}")
            assert scroll <= client, f"public {path} at {width}px is {scroll}px wide"
            assert public_watch.take(allow_status=404 if response.status == 404 else None) == [], path
    assert off_loop(lambda: _plan_of("initech")) == "startup"
    context.close()


def _plan_of(slug: str) -> str:
    from billing.models import Subscription

    return Subscription.objects.get(workspace__slug=slug).plan.slug
