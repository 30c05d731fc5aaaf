"""auditing.record: the one function every app calls to write an audit event."""

import hashlib
import json
import logging

from django.db import connection, transaction
from django.utils import timezone
from django_tenants.utils import schema_context

from auditing.models import AuditEvent
from tenants import context

logger = logging.getLogger(__name__)

ACTIONS = frozenset({
    "user_signup", "login", "login_failed", "logout", "password_reset", "invite_sent", "invite_accepted",
    "invite_revoked", "role_changed", "member_suspended", "member_reactivated", "member_removed",
    "key_created", "key_revoked", "key_rotated", "rate_limit_exceeded", "quota_warning", "plan_changed",
    "subscription_canceled", "payment_succeeded", "payment_failed", "branding_updated", "domain_added",
    "domain_verified", "workspace_created", "workspace_suspended", "workspace_reactivated", "data_exported",
    "backup_completed", "backup_failed", "credits_topped_up", "user_erased",
})


def _actor_fields(actor) -> tuple[str, str, str]:
    if actor is None:
        return AuditEvent.ActorType.SYSTEM, "", "system"
    if isinstance(actor, tuple):  # ("operator", user) etc.
        kind, who = actor
        return kind, str(getattr(who, "pk", "") or ""), str(getattr(who, "email", who))
    if hasattr(actor, "key_id") and hasattr(actor, "prefix"):  # an ApiKey row or its cached form
        return AuditEvent.ActorType.API_KEY, str(actor.pk), actor.prefix
    model = actor._meta.model_name if hasattr(actor, "_meta") else ""
    if model == "apikey":
        return AuditEvent.ActorType.API_KEY, str(actor.pk), actor.prefix
    if model == "user":
        return AuditEvent.ActorType.USER, str(actor.pk), actor.email
    return AuditEvent.ActorType.SYSTEM, "", str(actor)


def _resource_fields(resource) -> tuple[str, str]:
    if resource is None:
        return "", ""
    if isinstance(resource, tuple):
        return str(resource[0]), str(resource[1])
    return resource._meta.model_name, str(resource.pk)


def compute_hash(event: AuditEvent) -> str:
    payload = {
        "prev": event.prev_hash,
        "at": event.occurred_at.isoformat(),
        "actor": [event.actor_type, event.actor_id, event.actor_label],
        "action": event.action,
        "severity": event.severity,
        "resource": [event.resource_type, event.resource_id],
        "ip": event.ip,
        "ua": event.user_agent,
        "rid": event.request_id,
        "outcome": event.outcome,
        "details": event.details,
    }
    return hashlib.sha256(json.dumps(payload, sort_keys=True, default=str).encode()).hexdigest()


def record(
    *,
    action: str,
    actor=None,
    severity: str = "info",
    resource=None,
    workspace=None,
    outcome: str = "success",
    details: dict | None = None,
    ip: str | None = None,
    user_agent: str | None = None,
    request_id: str | None = None,
) -> AuditEvent:
    """Write one event in `workspace`'s schema (None: the public schema, platform events).

    Runs in the caller's transaction, so the event commits or rolls back with the change.
    """
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    schema = workspace.schema_name if workspace is not None else "public"
    actor_type, actor_id, actor_label = _actor_fields(actor)
    resource_type, resource_id = _resource_fields(resource)
    with transaction.atomic(savepoint=False), schema_context(schema):
        with connection.cursor() as cursor:
            # One writer at a time per schema keeps the hash chain linear.
            cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [f"audit:{schema}"])
        last = AuditEvent.objects.order_by("-id").values_list("hash", flat=True).first()
        event = AuditEvent(
            occurred_at=timezone.now(),
            actor_type=actor_type,
            actor_id=actor_id,
            actor_label=actor_label,
            action=action,
            severity=severity,
            resource_type=resource_type,
            resource_id=resource_id,
            ip=ip or context.client_ip.get(),
            user_agent=(user_agent or context.user_agent.get() or "")[:300],
            request_id=request_id or context.request_id.get() or "",
            outcome=outcome,
            details=details or {},
            prev_hash=last or "",
        )
        event.hash = compute_hash(event)
        event.save()
    return event
