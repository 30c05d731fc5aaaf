"""Key-authentication benchmark settings: production settings plus two bench endpoints.

Used only by bench/keyauth/run.py (DJANGO_SETTINGS_MODULE=bench.keyauth.settings), with its
own database and Redis DB. Plain HTTP on loopback, so no redirect to HTTPS.
"""

from config.settings.production import *  # noqa: F403

SECURE_SSL_REDIRECT = False
# The benchmark calls 127.0.0.1, the public site: its urlconf gains the two bench endpoints.
PUBLIC_SCHEMA_URLCONF = "bench.keyauth.urls"
# An empty static root of its own (no collectstatic needed; the API serves no static files).
STATIC_ROOT = BASE_DIR / "var" / "bench" / "staticfiles"  # noqa: F405
