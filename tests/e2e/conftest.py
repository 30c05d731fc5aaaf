"""Real headless Chromium (Debian's) against pytest-django's live server.

Hosts like initech.localhost resolve to the live server through Chromium's resolver
rules; screenshots go to test-artifacts/ (gitignored).
"""

import os
from pathlib import Path
from urllib.parse import urlsplit

import pytest
from django.conf import settings as django_settings

from tests.accounts.conftest import public_data_restored  # noqa: F401 - shared fixture
from tests.accounts.helpers import drop_schemas, workspace_schemas

CHROMIUM = "/usr/bin/chromium"
ARTIFACTS = Path(django_settings.BASE_DIR) / "test-artifacts"
CHROMIUM_ARGS = [
    "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
    "--disable-component-update", "--disable-sync", "--no-first-run",
    # *.example.test: custom domains (tests/e2e/test_branding.py), resolved to loopback like *.localhost
    "--host-resolver-rules=MAP *.localhost 127.0.0.1, MAP localhost 127.0.0.1, MAP *.example.test 127.0.0.1",
]


@pytest.fixture
def site(live_server, settings):
    """(port, url(host, path)) of the live server; links between hosts point at its port."""
    port = urlsplit(live_server.url).port
    settings.SITE_URL_TEMPLATE = f"http://{{host}}:{port}"

    def url(host: str, path: str = "/") -> str:
        return f"http://{host}:{port}{path}"

    before = workspace_schemas()
    yield port, url
    drop_schemas(workspace_schemas() - before)


@pytest.fixture
def browser():
    from playwright.sync_api import sync_playwright

    assert os.path.exists(CHROMIUM), f"{CHROMIUM} is missing: apt-get install -y chromium"
    ARTIFACTS.mkdir(exist_ok=True)
    with sync_playwright() as playwright:
        chromium = playwright.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS, headless=True)
        yield chromium
        chromium.close()


@pytest.fixture
def screenshot():
    def take(page, name: str) -> Path:
        path = ARTIFACTS / f"{name}.png"
        page.screenshot(path=str(path), full_page=True)
        return path

    return take
