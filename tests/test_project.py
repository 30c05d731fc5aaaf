"""Project-wide guarantees: production settings pass Django's deploy checks, the API is documented."""

import os
import subprocess
import sys
from pathlib import Path

from django.conf import settings

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
    assert schema["components"]["securitySchemes"]["ApiKey"] == {
        "type": "http", "scheme": "bearer",
        "description": "An API key `tg_live_<id>_<secret>` as `Authorization: Bearer <key>` (or in an `X-API-Key` header).",
    }
    for path in ("/api/v1/analyze", "/api/v1/limits", "/api/v1/info", "/api/v1/keys", "/api/v1/audit-logs"):
        assert path in schema["paths"], path
    analyze = schema["paths"]["/api/v1/analyze"]["post"]
    assert analyze["security"][0] == {"ApiKey": []}
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
