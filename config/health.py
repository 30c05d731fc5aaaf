"""Liveness (`/health/`) and readiness (`/health/ready`).

Liveness answers 200 while the process can serve at all: it touches nothing, so a
load balancer never restarts web workers because PostgreSQL blinked. Readiness checks
what a request needs: the database, Redis (metering, caches), the Celery broker and
that every migration is applied; it answers 503 and names each failing check:

    {"status": "unavailable", "failing": ["redis"], "checks": {"database": "ok", "redis": "failing: ConnectionError", ...}}

django-health-check 4.8 is installed but not used here: its view answers 500 rather
than 503, names checks by their repr (host and port included) and runs them in
executor threads, each opening its own database connection. These checks are small
enough to own, and they probe the very connection and client the app uses.
Only exception class names are reported: a message could carry a host or a password.
"""

import logging
import threading
import time

import kombu
from django.conf import settings
from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.http import JsonResponse
from django_tenants.utils import schema_context

from core.redis import get_redis

logger = logging.getLogger(__name__)

TIMEOUT = 1.0  # seconds per network probe: a readiness probe must answer before the balancer gives up
MIGRATIONS_CACHE_SECONDS = 60.0


class DependencyFailing(Exception):
    """A check could not run because one it depends on failed."""


def live(request):
    return JsonResponse({"status": "ok"}, headers={"Cache-Control": "no-store"})


def _database() -> None:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def _redis() -> None:
    get_redis().ping()


def _broker() -> None:
    # A fresh connection each probe, over whatever transport CELERY_BROKER_URL names.
    with kombu.Connection(settings.CELERY_BROKER_URL, connect_timeout=TIMEOUT,
                          transport_options={"socket_timeout": TIMEOUT, "socket_connect_timeout": TIMEOUT}) as conn:
        conn.ensure_connection(max_retries=0, timeout=TIMEOUT)


_migrations_ok: dict[str, float | None] = {"at": None}
_migrations_lock = threading.Lock()


def _migrations() -> None:
    # Loading the migration graph reads every migration file (~0.1 s): remember a pass for a
    # minute. Migrations are recorded in the public schema for every app (django-tenants).
    at = _migrations_ok["at"]
    if at is not None and time.monotonic() - at < MIGRATIONS_CACHE_SECONDS:
        return
    with _migrations_lock, schema_context("public"):
        executor = MigrationExecutor(connection)
        if executor.migration_plan(executor.loader.graph.leaf_nodes()):
            raise RuntimeError("unapplied migrations")
    _migrations_ok["at"] = time.monotonic()


CHECKS = {"database": _database, "redis": _redis, "broker": _broker, "migrations": _migrations}
DEPENDS_ON = {"migrations": "database"}


def run_checks() -> dict[str, str]:
    """{check name: "ok" | "failing: <ExceptionClass>"} for every readiness check."""
    results: dict[str, str] = {}
    for name, check in CHECKS.items():
        needed = DEPENDS_ON.get(name)
        try:
            if needed and results.get(needed) != "ok":
                raise DependencyFailing(needed)
            check()
            results[name] = "ok"
        except DependencyFailing:
            results[name] = f"unknown: {needed} failing"
        except Exception as exc:
            results[name] = f"failing: {exc.__class__.__name__}"
    return results


def ready(request):
    results = run_checks()
    failing = [name for name, result in results.items() if result.startswith("failing")]
    if any(result != "ok" for result in results.values()):
        logger.warning("not ready: %s", ", ".join(f"{name} {results[name]}" for name in failing))
        body = {"status": "unavailable", "failing": failing, "checks": results}
        return JsonResponse(body, status=503, headers={"Cache-Control": "no-store"})
    return JsonResponse({"status": "ok", "checks": results}, headers={"Cache-Control": "no-store"})
