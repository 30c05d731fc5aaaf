"""auditing.record: the one function every app calls to write an audit event.

Also the audit trail's own writes: retention and the erasure of a person's data.
"""

import hashlib
import hmac
import logging
import secrets
from contextlib import contextmanager
from datetime import datetime, timedelta
from functools import partial

from django.conf import settings
from django.db import connection, transaction
from django.db.models import Q, TextField
from django.db.models.functions import Cast
from django.utils import timezone
from django_tenants.utils import get_public_schema_name, schema_context

from auditing import chain, metrics, signals
from auditing.models import AuditChainAnchor, AuditEvent
from core import context

logger = logging.getLogger(__name__)

ACTIONS = frozenset({
    "user_signup", "login", "login_failed", "logout", "password_reset", "invite_sent", "invite_accepted",
    "invite_revoked", "role_changed", "member_suspended", "member_reactivated", "member_removed",
    "key_created", "key_revoked", "key_rotated", "rate_limit_exceeded", "quota_warning", "plan_changed",
    "subscription_canceled", "payment_succeeded", "payment_failed", "branding_updated", "domain_added",
    "domain_verified", "workspace_created", "workspace_suspended", "workspace_reactivated", "data_exported",
    "backup_completed", "backup_failed", "credits_topped_up", "user_erased", "workspace_deleted",
})
SEVERITIES = frozenset(AuditEvent.Severity.values)


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


def _lock_chain(schema: str) -> None:
    with connection.cursor() as cursor:
        # One writer at a time per schema keeps the hash chain linear.
        cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [f"audit:{schema}"])


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
        _lock_chain(schema)
        event = AuditEvent(
            occurred_at=timezone.now(),
            actor_type=actor_type,
            actor_id=actor_id[:64],
            actor_label=actor_label[:254],
            action=action,
            severity=severity,
            resource_type=resource_type[:64],
            resource_id=resource_id[:64],
            ip=chain.canonical_ip(ip or context.client_ip.get()),
            user_agent=(user_agent or context.user_agent.get() or "")[:300],
            request_id=(request_id or context.request_id.get() or "")[:128],
            outcome=outcome[:16],
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


def critical_event_notify(*, schema_name: str, event_id: int, recipients: list[str], workspace_name: str = "") -> int:
    """Email `recipients` about a committed critical event of `schema_name` (the workspace
    called `workspace_name`, or the platform's public schema); returns how many were sent."""
    from django.core.mail import send_mail
    from django.template.loader import render_to_string

    if not recipients:
        return 0
    with schema_context(schema_name):
        event = AuditEvent.objects.filter(pk=event_id).first()
    if event is None:
        return 0
    platform = schema_name == get_public_schema_name()
    where = "the platform" if platform else f"workspace {workspace_name or schema_name}"
    subject = f"[Tollgate] Critical: {event.action.replace('_', ' ')} in {where}"
    body = render_to_string("auditing/critical_event.txt", {"event": event, "where": where, "platform": platform})
    send_mail(subject=subject, message=body, from_email=None, recipient_list=sorted(set(recipients)))
    return len(set(recipients))


def audit_export_record(*, workspace, actor, fmt: str, filters: dict) -> int:
    """Record that `actor` exported the workspace's audit log; returns the event's id.

    The export then covers events up to and including this one: a stable end point
    while new events keep arriving during a long download.
    """
    with transaction.atomic(durable=True):
        event = record(action="data_exported", actor=actor, resource=("audit_log", workspace.slug),
                       workspace=workspace, details={"format": fmt, "filters": filters})
    return event.pk


# Retention -----------------------------------------------------------------------------

@contextmanager
def _trigger_door(setting: str):
    """Let the guard trigger through for the statements inside this block.

    set_config(..., true) is SET LOCAL: it could never outlive the transaction; closing it
    again at the end of the block keeps it from covering the caller's later statements too.
    """
    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config(%s, 'on', true)", [setting])
    try:
        yield
    finally:
        if not connection.needs_rollback:
            with connection.cursor() as cursor:
                cursor.execute("SELECT set_config(%s, 'off', true)", [setting])


def audit_retention_apply(*, schemas: list[str], now: datetime | None = None, days: int | None = None) -> dict[str, int]:
    """Delete audit events and model history older than the retention period, in each of `schemas`
    (the caller names them: the public schema and every workspace's, tenants.selectors.audit_schemas).

    The only DELETE the audit trigger allows. Each schema keeps a chain anchor naming
    the last purged event, so its chain still verifies. Returns events purged per schema.
    """
    now = now or timezone.now()
    days = settings.AUDIT_RETENTION_DAYS if days is None else days
    if days < 1:
        raise ValueError("the audit retention period is at least one day")
    cutoff = now - timedelta(days=days)
    purged = {}
    for schema in schemas:
        purged[schema] = _purge_schema(schema=schema, cutoff=cutoff, now=now)
    return purged


def _purge_schema(*, schema: str, cutoff: datetime, now: datetime) -> int:
    from auditlog.models import LogEntry

    with transaction.atomic(durable=True), schema_context(schema):
        _lock_chain(schema)
        # Events are chained in id order; purge a prefix so the rest still links up.
        last = (AuditEvent.objects.filter(occurred_at__lt=cutoff).order_by("-id")
                .values_list("id", "hash").first())
        count = 0
        with _trigger_door("tollgate.audit_retention"):
            if last is not None:
                count, _ = AuditEvent.objects.filter(id__lte=last[0]).delete()
                AuditChainAnchor.objects.create(created_at=now, cutoff=cutoff, last_event_id=last[0],
                                                last_hash=last[1], purged=count)
            LogEntry.objects.filter(timestamp__lt=cutoff).delete()
    if count:
        logger.info("audit retention purged %s events before %s in %s", count, cutoff.isoformat(), schema)
    return count


# Personal data -------------------------------------------------------------------------

def pseudonym_for(user_id: int | str) -> str:
    """A stable stand-in for an erased user: the same person's events still group together."""
    digest = hmac.new(settings.SECRET_KEY.encode(), f"audit-user:{user_id}".encode(), hashlib.sha256).hexdigest()
    return f"erased-user-{digest[:12]}"


def _scrub(value, needle: str, replacement: str):
    """`value` with every case-insensitive occurrence of `needle` in its strings replaced."""
    if isinstance(value, str):
        lowered, needle_l, out, start = value.lower(), needle.lower(), [], 0
        while (found := lowered.find(needle_l, start)) != -1:
            out.append(value[start:found] + replacement)
            start = found + len(needle)
        return "".join(out) + value[start:]
    if isinstance(value, dict):
        return {_scrub(k, needle, replacement): _scrub(v, needle, replacement) for k, v in value.items()}
    if isinstance(value, list):
        return [_scrub(v, needle, replacement) for v in value]
    return value


def _subject_events(*, user_id: int, email: str):
    """Events of the current schema that name the user: as actor, as resource, or in details."""
    as_actor = Q(actor_type__in=[AuditEvent.ActorType.USER, AuditEvent.ActorType.OPERATOR], actor_id=str(user_id))
    named = Q(resource_type="user", resource_id=str(user_id))
    if email:
        named |= Q(actor_label__iexact=email) | Q(details_text__icontains=email)
    return AuditEvent.objects.annotate(details_text=Cast("details", TextField())).filter(as_actor | named), as_actor


def _batched(rows, size=1000):
    batch = []
    for row in rows:
        batch.append(row)
        if len(batch) == size:
            yield batch
            batch = []
    if batch:
        yield batch


def _erase_events(*, user_id: int, email: str, pseudonym: str) -> int:
    events, as_actor = _subject_events(user_id=user_id, email=email)
    actor_ids = set(events.filter(as_actor).values_list("id", flat=True))
    count = 0
    for batch in _batched(events.order_by("id").iterator(chunk_size=chain.CHUNK)):
        for event in batch:
            if event.pk in actor_ids:
                event.actor_label, event.ip, event.user_agent = pseudonym, None, ""
            if email:
                event.details = _scrub(event.details, email, pseudonym)
                event.actor_label = _scrub(event.actor_label, email, pseudonym)
            event.pii_salt = ""  # the digest stays (and the hash with it); the salt goes
        AuditEvent.objects.bulk_update(batch, ["actor_label", "ip", "user_agent", "details", "pii_salt"])
        count += len(batch)
    return count


def _erase_model_history(*, user_id: int, email: str, pseudonym: str) -> int:
    from auditlog.models import LogEntry

    matches = Q(actor_id=user_id)
    if email:
        matches |= (Q(actor_email__iexact=email) | Q(object_repr__icontains=email)
                    | Q(changes_text__icontains=email) | Q(changes__icontains=email))
    count = 0
    for batch in _batched(LogEntry.objects.filter(matches).order_by("id").iterator(chunk_size=chain.CHUNK)):
        for entry in batch:
            if entry.actor_id == user_id or (email and (entry.actor_email or "").lower() == email.lower()):
                entry.actor_email, entry.remote_addr, entry.remote_port = pseudonym, None, None
            if email:
                entry.object_repr = _scrub(entry.object_repr, email, pseudonym)
                entry.changes_text = _scrub(entry.changes_text, email, pseudonym)
                entry.changes = _scrub(entry.changes, email, pseudonym)
        LogEntry.objects.bulk_update(batch, ["actor_email", "remote_addr", "remote_port", "object_repr",
                                             "changes_text", "changes"])
        count += len(batch)
    return count


def audit_subject_erase(*, user_id: int, email: str, schemas: list[str], actor=None) -> dict[str, int]:
    """Erase a person from the audit trail of each of `schemas` (every schema: the caller names
    them, tenants.selectors.audit_schemas); their events stay, pseudonymous.

    Their events keep their id, time, action, resources and hash; the name becomes a
    pseudonym, their IP and user agent are blanked, their email is replaced wherever it
    appears in details, and each touched row loses its personal-data salt. Model history
    (django-auditlog) gets the same treatment. The hash chain stays valid.
    Returns rows pseudonymised per schema.
    """
    pseudonym = pseudonym_for(user_id)
    changed: dict[str, int] = {}
    with transaction.atomic(savepoint=False):
        for schema in schemas:
            with schema_context(schema), _trigger_door("tollgate.audit_erasure"):
                count = _erase_events(user_id=user_id, email=email, pseudonym=pseudonym)
                count += _erase_model_history(user_id=user_id, email=email, pseudonym=pseudonym)
            if count:
                changed[schema] = count
        record(action="user_erased", actor=actor, resource=("user", user_id), severity="warning",
               details={"pseudonym": pseudonym, "rows": sum(changed.values()), "schemas": len(changed)})
    return changed
