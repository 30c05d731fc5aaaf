"""Project-wide guarantees: production settings pass Django's deploy checks, the API is documented."""

import os
import subprocess
import sys
from html.parser import HTMLParser
from pathlib import Path

import pytest
from django.conf import settings
from django.test import Client

ROOT = Path(__file__).resolve().parents[1]


def test_production_settings_pass_check_deploy_with_no_issue():
    # given production settings with only the required variables
    env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    env.update(DJANGO_SETTINGS_MODULE="config.settings.production",
               DJANGO_SECRET_KEY="x" * 20 + "a-long-random-production-secret-0123456789",
               DATABASE_URL="postgres://tollgate@127.0.0.1:5432/tollgate", REDIS_URL=settings.REDIS_URL)
    # when
    result = subprocess.run([sys.executable, "manage.py", "check", "--deploy", "--fail-level", "WARNING"],
                            cwd=ROOT, env=env, capture_output=True, text=True, timeout=120)
    # then
    assert result.returncode == 0, result.stdout + result.stderr
    assert "System check identified no issues" in result.stdout


def test_production_settings_refuse_to_start_without_a_secret_key():
    env = {k: v for k, v in os.environ.items() if not k.startswith("DJANGO_")}
    env.update(DJANGO_SETTINGS_MODULE="config.settings.production", DATABASE_URL="postgres://x@127.0.0.1/x",
               REDIS_URL=settings.REDIS_URL)
    result = subprocess.run([sys.executable, "manage.py", "check"], cwd=ROOT, env=env, capture_output=True,
                            text=True, timeout=120)
    assert result.returncode != 0
    assert "DJANGO_SECRET_KEY" in result.stderr


def test_openapi_schema_documents_key_auth_and_the_metered_endpoints(api_client):
    response = api_client.get("/api/schema/", HTTP_ACCEPT="application/json")
    assert response.status_code == 200
    schema = response.json()
    schemes = schema["components"]["securitySchemes"]
    assert schemes["ApiKey"]["type"] == "http" and schemes["ApiKey"]["scheme"] == "bearer"
    assert schemes["ApiKeyHeader"] == {"type": "apiKey", "in": "header", "name": "X-API-Key",
                                       "description": schemes["ApiKeyHeader"]["description"]}
    for path in ("/api/v1/analyze", "/api/v1/limits", "/api/v1/info", "/api/v1/keys", "/api/v1/audit-logs"):
        assert path in schema["paths"], path
    analyze = schema["paths"]["/api/v1/analyze"]["post"]
    assert analyze["security"][:2] == [{"ApiKey": []}, {"ApiKeyHeader": []}]  # either one
    assert "AnalysisOutput" in str(analyze["responses"]["200"])


def test_request_context_is_cleared_once_the_response_is_done(api_client):
    # given a request that set the request id, client address and user agent
    from core import context

    response = api_client.get("/health/", HTTP_USER_AGENT="probe", REMOTE_ADDR="198.51.100.7")
    assert response["X-Request-ID"]
    # then nothing of it is left for an audit record written outside a request
    assert context.request_id.get() is None
    assert context.client_ip.get() is None
    assert context.user_agent.get() is None


class _Resources(HTMLParser):
    """The scripts, stylesheets and icons a page loads, and any inline script or style it carries."""

    def __init__(self):
        super().__init__()
        self.urls: list[str] = []
        self.inline: list[str] = []
        self._open: str | None = None

    def handle_starttag(self, tag, attrs):
        attrs = dict(attrs)
        url = attrs.get("src") if tag == "script" else attrs.get("href") if tag == "link" else None
        if url and not url.startswith("data:"):  # a data: URL (Redoc's empty icon) loads nothing
            self.urls.append(url)
        elif tag in ("script", "style") and not url:
            self._open = tag

    def handle_data(self, data):
        if self._open and data.strip():
            self.inline.append(f"<{self._open}>{data.strip()[:60]}")

    def handle_endtag(self, tag):
        self._open = None


@pytest.mark.parametrize(("path", "expected"), [
    ("/api/docs/", ["swagger-ui.css", "swagger-ui-bundle.js", "swagger-ui-standalone-preset.js", "?script="]),
    ("/api/redoc/", ["redoc.standalone.js"]),
])
def test_api_docs_load_only_our_own_files_and_each_is_served(settings, path, expected):
    # given static files served as `make run` serves them (whitenoise, from the apps' static dirs)
    settings.WHITENOISE_USE_FINDERS = True
    client = Client(HTTP_HOST="localhost")
    # when
    page = client.get(path)
    # then the page loads only same-origin files (no CDN, no web fonts), none inline
    assert page.status_code == 200
    found = _Resources()
    found.feed(page.content.decode())
    assert found.inline == []
    assert all(url.startswith("/") and not url.startswith("//") for url in found.urls), found.urls
    for name in expected:
        assert any(name in url for url in found.urls), (name, found.urls)
    # and our CSP stands: no inline script anywhere
    assert "'unsafe-inline'" not in page["Content-Security-Policy"].split("script-src")[1].split(";")[0]
    # and every file it loads is served, as what it is
    for url in found.urls:
        response = client.get(url)
        assert response.status_code == 200, url
        kind = response["Content-Type"]
        assert kind.startswith(("text/javascript", "application/javascript", "text/css", "image/")), (url, kind)


def test_api_docs_init_script_names_our_schema():
    # when Swagger UI's init script is fetched as the page fetches it
    response = Client(HTTP_HOST="localhost").get("/api/docs/?script=")
    # then it is JavaScript pointing at our schema
    assert response.status_code == 200
    assert response["Content-Type"].startswith("application/javascript")
    assert '"/api/schema/"' in response.content.decode()


def test_api_docs_are_not_operations_of_the_schema(api_client):
    # when
    paths = api_client.get("/api/schema/", HTTP_ACCEPT="application/json").json()["paths"]
    # then the documentation pages document the API, not themselves
    assert not [path for path in paths if path.startswith(("/api/docs", "/api/redoc"))]
