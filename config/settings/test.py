"""Test settings: real PostgreSQL and Redis, fast hashing, in-memory email."""

from config.env import env

env.ENVIRON.setdefault("DJANGO_SECRET_KEY", "test-only-secret-key-not-for-production-use-0123456789")

from config.settings.base import *  # noqa: E402, F403

DEBUG = False
PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]
EMAIL_BACKEND = "django.core.mail.backends.locmem.EmailBackend"
SITE_URL_TEMPLATE = "http://{host}"
STORAGES["staticfiles"] = {"BACKEND": "django.contrib.staticfiles.storage.StaticFilesStorage"}  # noqa: F405
DATABASES["default"]["CONN_MAX_AGE"] = 0  # noqa: F405
# Celery tasks run inline in tests, so their effects (audit rows, emails) are asserted directly.
CELERY_TASK_ALWAYS_EAGER = True
# Stripe: tests reach the project's own Stripe-compatible server (tests/stripe_server) on
# loopback. Offline by default (no key): the `stripe_server` fixture sets the key it accepts.
# (A free port picked here, not exported: processes the tests start, with other settings, don't inherit it.)
STRIPE_API_HOST = env("STRIPE_API_HOST", default="")
if not STRIPE_API_HOST:
    import socket

    with socket.socket() as _s:
        _s.bind(("127.0.0.1", 0))
        STRIPE_API_HOST = f"http://127.0.0.1:{_s.getsockname()[1]}"
SILENCED_SYSTEM_CHECKS = ["djstripe.W002"]  # STRIPE_API_HOST is set on purpose here
# dj-stripe's own migrations (0002_2_10: 515 field operations, each re-rendering its ~80 models)
# take minutes of CPU for every test database. Tests use one migration made from its 2.11.0 models
# instead (tests/djstripe_migrations, `makemigrations djstripe` with this setting; the migration
# check of scripts/test.py fails if it drifts from the models). `make run` and deploys run dj-stripe's own.
MIGRATION_MODULES = {"djstripe": "tests.djstripe_migrations"}
