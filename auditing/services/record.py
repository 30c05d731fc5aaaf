"""auditing.record: the one function every app calls to write an audit event."""

import logging
import secrets
from functools import partial

from django.db import transaction
from django.utils import timezone
from django_tenants.utils import get_public_schema_name, schema_context

from auditing import chain, metrics, signals
from auditing.models import AuditEvent
from auditing.services.guard import lock_chain
from core import context
from core.types import Actor, Resource, WorkspaceLike

logger = logging.getLogger(__name__)

ACTIONS = frozenset({
    "user_signup", "login", "login_failed", "logout", "password_reset", "invite_sent", "invite_accepted",
    "invite_revoked", "role_changed", "member_suspended", "member_reactivated", "member_removed",
    "key_created", "key_revoked", "key_rotated", "rate_limit_exceeded", "quota_warning", "plan_changed",
    "subscription_canceled", "payment_succeeded", "payment_failed", "branding_updated", "domain_added",
    "domain_verified", "workspace_created", "workspace_suspended", "workspace_reactivated", "data_exported",
    "backup_completed", "backup_failed", "credits_topped_up", "user_erased", "limits_changed", "workspace_deleted",
    "usage_mismatch", "features_changed", "workspace_renamed", "profile_updated", "password_changed",
    "sessions_ended", "member_limit_changed", "spend_cap_changed", "spend_cap_warning", "invoice_finalized",
    "invoice_created", "operator_token_created",
    "operator_token_revoked", "usage_reset", "operator_api_call", "domain_removed", "domain_check_failed",
    "domain_dropped", "subscription_created",
    "subscription_reactivated",
})
SEVERITIES = frozenset(AuditEvent.Severity.values)


def _actor_fields(actor: Actor) -> tuple[str, str, str]:
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


def _resource_fields(resource: Resource) -> tuple[str, str]:
    if resource is None:
        return "", ""
    if isinstance(resource, tuple):
        return str(resource[0]), str(resource[1])
    return resource._meta.model_name, str(resource.pk)


def _text(value: str, limit: int) -> str:
    """A column's value as PostgreSQL will take it: no NUL (see chain.without_nul), cut to fit."""
    return chain.without_nul(value)[:limit]


def record(
    *,
    action: str,
    actor: Actor = None,
    severity: str = "info",
    resource: Resource = None,
    workspace: WorkspaceLike | None = None,
    outcome: str = "success",
    details: dict | None = None,
    ip: str | None = None,
    user_agent: str | None = None,
    request_id: str | None = None,
) -> AuditEvent:
    """Write one event in `workspace`'s schema (None: the public schema, platform events).

    Runs in the caller's transaction, so the event commits or rolls back with the change.
    IP, user agent and request id default to the current request's (core.context).
    A critical event, once committed, emails the workspace owners (operators for platform
    events) and counts in `tollgate_audit_critical_events_total`.

    Raises ValueError for an unknown action or severity (a programming error).
    """
    if action not in ACTIONS:
        raise ValueError(f"unknown audit action {action!r}")
    if severity not in SEVERITIES:
        raise ValueError(f"unknown audit severity {severity!r}")
    schema = workspace.schema_name if workspace is not None else get_public_schema_name()
    actor_type, actor_id, actor_label = _actor_fields(actor)
    resource_type, resource_id = _resource_fields(resource)
    with transaction.atomic(savepoint=False), schema_context(schema):
        lock_chain(schema)
        event = AuditEvent(
            occurred_at=timezone.now(),
            actor_type=actor_type,
            actor_id=_text(actor_id, 64),
            actor_label=_text(actor_label, 254),
            action=action,
            severity=severity,
            resource_type=_text(resource_type, 64),
            resource_id=_text(resource_id, 64),
            ip=chain.canonical_ip(ip or context.client_ip.get()),
            user_agent=_text(user_agent or context.user_agent.get() or "", 300),
            request_id=_text(request_id or context.request_id.get() or "", 128),
            outcome=_text(outcome, 16),
            details=chain.jsonable(details),
            pii_salt=secrets.token_hex(16),
            hash_version=chain.HASH_VERSION,
            prev_hash=chain.chain_head(),
        )
        event.pii_digest = chain.pii_digest(event)
        event.hash = chain.event_hash(event)
        event.save()
        if severity == AuditEvent.Severity.CRITICAL:
            transaction.on_commit(partial(_critical_committed, schema, event.pk, action))
    return event


def _critical_committed(schema: str, event_id: int, action: str) -> None:
    metrics.CRITICAL_EVENTS.labels(action=action).inc()
    # Who is told (the workspace's owners) is accounts' business, a layer above: it listens.
    for receiver, outcome in signals.critical_event_committed.send_robust(
            sender=record, schema_name=schema, event_id=event_id, action=action):
        if isinstance(outcome, Exception):
            # The event is committed and counted (alerting scrapes the counter); a broker
            # outage must not turn the caller's committed change into an error.
            logger.error("could not hand on critical audit event %s in %s (%s): %s", event_id, schema,
                         getattr(receiver, "__name__", receiver), outcome.__class__.__name__)
