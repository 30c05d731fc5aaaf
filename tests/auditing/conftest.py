"""Helpers for the audit trail's tests: reading events back from a schema, eager Celery."""

import pytest
from django.db import connection
from django_tenants.utils import schema_context

from auditing.models import AuditEvent

RID = "req-audit-0001"
IP = "203.0.113.7"
UA = "pytest-browser/1.0"


def events(workspace=None, **filters) -> list[AuditEvent]:
    """Events of `workspace`'s schema (None: public), oldest first."""
    with schema_context(workspace.schema_name if workspace is not None else "public"):
        return list(AuditEvent.objects.filter(**filters).order_by("id"))


def one(workspace=None, **filters) -> AuditEvent:
    found = events(workspace, **filters)
    assert len(found) == 1, f"expected one {filters} event, found {[e.action for e in found]}"
    return found[0]


def headers(rid: str = RID, ip: str = IP) -> dict:
    """What a browser behind our load balancer sends: its address, a request id, a user agent."""
    return {"HTTP_X_REQUEST_ID": rid, "REMOTE_ADDR": ip, "HTTP_USER_AGENT": UA}


def tamper(sql: str, params=(), schema: str = "public") -> None:
    """Change audit rows as a database superuser would, around the guard (triggers off)."""
    with schema_context(schema), connection.cursor() as cursor:
        cursor.execute("SET LOCAL session_replication_role = replica")
        cursor.execute(sql, params)
        cursor.execute("SET LOCAL session_replication_role = origin")


@pytest.fixture
def eager_celery():
    """Run tasks in-process, as Celery's own test mode does, for the duration of a test."""
    from config.celery import app

    previous = app.conf.task_always_eager
    app.conf.task_always_eager = True
    yield app
    app.conf.task_always_eager = previous


@pytest.fixture(autouse=True)
def _no_request_context():
    """No request context leaks in from an earlier test's request (it outlives its request by design)."""
    from core import context

    context.clear()
    yield
    context.clear()


def backdate(workspace, event, days: float) -> None:
    """Move an event `days` into the past, around the guard (its hash no longer matches: fine for reads)."""
    from datetime import timedelta

    tamper("UPDATE auditing_auditevent SET occurred_at = occurred_at - %s WHERE id = %s",
           [timedelta(days=days), event.pk], schema=workspace.schema_name)
