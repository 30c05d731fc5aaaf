"""Liveness and readiness. Readiness names the failing check and answers 503."""

from django.db import connection
from django.db.migrations.executor import MigrationExecutor
from django.http import JsonResponse

from tenants.redis import get_redis


def live(request):
    return JsonResponse({"status": "ok"})


def _database():
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1")


def _redis():
    get_redis().ping()


def _migrations():
    executor = MigrationExecutor(connection)
    if executor.migration_plan(executor.loader.graph.leaf_nodes()):
        raise RuntimeError("unapplied migrations")


CHECKS = {"database": _database, "redis": _redis, "migrations": _migrations}


def ready(request):
    results, ok = {}, True
    for name, check in CHECKS.items():
        try:
            check()
            results[name] = "ok"
        except Exception as exc:
            ok = False
            results[name] = f"failing: {exc.__class__.__name__}"
    return JsonResponse({"status": "ok" if ok else "unavailable", "checks": results}, status=200 if ok else 503)
