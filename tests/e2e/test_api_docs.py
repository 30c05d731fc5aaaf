"""/api/docs/ (Swagger UI) and /api/redoc/ in a real browser: our own static files, under our CSP.

They were blank pages: both UIs came from a CDN that the CSP (script-src 'self') refused. The
test collects every console error and warning (Chromium reports each CSP violation there) and
every uncaught page error, and wants none.
"""

import pytest
from playwright.sync_api import expect

from tests.accounts.helpers import committed

# committed: the live server's flush after the test needs TRUNCATE ... CASCADE (tests/accounts/helpers.py)
pytestmark = [pytest.mark.browser, committed]


def _watched(browser):
    page = browser.new_context().new_page()
    complaints: list[str] = []
    page.on("console", lambda message: complaints.append(f"{message.type}: {message.text}")
            if message.type in ("error", "warning") else None)
    page.on("pageerror", lambda error: complaints.append(f"pageerror: {error}"))
    page.on("requestfailed", lambda request: complaints.append(f"requestfailed: {request.url}"))
    return page, complaints


def test_swagger_ui_renders_the_operations_in_chromium(public_data_restored, live_server, browser, screenshot):
    # given a browser watching the console
    page, complaints = _watched(browser)
    # when it opens the API docs
    page.goto(f"{live_server.url}/api/docs/")
    # then Swagger UI lists the operations, from our schema
    expect(page.locator(".opblock-summary-path", has_text="/api/v1/analyze")).to_be_visible()
    expect(page.locator(".opblock")).to_have_count(len(page.locator(".opblock").all()))
    assert page.locator(".opblock").count() >= 8
    # and an operation opens, with its request body example and its problems with theirs
    page.locator(".opblock-summary-path", has_text="/api/v1/analyze").click()
    body = page.locator(".opblock-body").first
    expect(body).to_contain_text("I love this API")
    expect(body).to_contain_text("application/problem+json")
    expect(body).to_contain_text("RateLimit-Policy")
    screenshot(page, "api-docs-swagger-ui")
    # and nothing was refused (CSP) or failed
    assert complaints == []


def test_redoc_renders_the_operations_in_chromium(public_data_restored, live_server, browser, screenshot):
    # given a browser watching the console
    page, complaints = _watched(browser)
    # when it opens Redoc
    page.goto(f"{live_server.url}/api/redoc/")
    # then Redoc lists the operations. It renders the whole document at once (every problem example
    # of every operation): ~9 s here with the machine's two cores shared, past expect's 5 s default.
    expect(page.locator("h1", has_text="Tollgate API")).to_be_visible(timeout=60_000)
    expect(page.get_by_text("/api/v1/analyze").first).to_be_attached()
    expect(page.get_by_text("rate_limited").first).to_be_attached()
    screenshot(page, "api-docs-redoc")
    # and nothing was refused or failed but Redoc's footer logo, which its bundle always loads from
    # Redocly's CDN (no option turns it off; the image hides itself when refused): our CSP keeps
    # that third-party request from being made
    logo = "https://cdn.redoc.ly/redoc/logo-mini.svg"
    assert [c for c in complaints if logo not in c] == []
