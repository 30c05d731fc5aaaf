"""Benchmark settings: production settings, plus djangorestframework-api-key and the bench endpoints.

Used only by bench/metering/run.sh (DJANGO_SETTINGS_MODULE=bench.metering.settings), with its own
database and Redis DB. Plain HTTP on loopback, so no redirect to HTTPS.
"""

from config.settings.production import *  # noqa: F403

SECURE_SSL_REDIRECT = False
# (c) needs djangorestframework-api-key's APIKey table, in the public schema like Tollgate's own keys.
SHARED_APPS = [*SHARED_APPS, "rest_framework_api_key"]  # noqa: F405
INSTALLED_APPS = [*INSTALLED_APPS, "rest_framework_api_key"]  # noqa: F405
# The benchmark calls 127.0.0.1, the public site: its urlconf gains the (a) and (c) endpoints.
PUBLIC_SCHEMA_URLCONF = "bench.metering.urls"
# An empty static root of its own (no collectstatic needed; the API serves no static files).
STATIC_ROOT = BASE_DIR / "var" / "bench" / "staticfiles"  # noqa: F405
