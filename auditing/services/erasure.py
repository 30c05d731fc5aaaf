"""Erasing a person from the audit trail: their events stay, under a pseudonym."""

import hashlib
import hmac
from collections.abc import Iterable, Iterator
from typing import Any

from django.conf import settings
from django.db import transaction
from django.db.models import Q, QuerySet, TextField
from django.db.models.functions import Cast
from django_tenants.utils import schema_context

from auditing import chain
from auditing.models import AuditEvent
from auditing.services.guard import trigger_door
from auditing.services.record import record
from core.types import Actor


def pseudonym_for(user_id: int | str) -> str:
    """A stable stand-in for an erased user: the same person's events still group together."""
    digest = hmac.new(settings.SECRET_KEY.encode(), f"audit-user:{user_id}".encode(), hashlib.sha256).hexdigest()
    return f"erased-user-{digest[:12]}"


def _scrub(value: Any, needle: str, replacement: str) -> Any:
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


def _subject_events(*, user_id: int, email: str) -> tuple[QuerySet[AuditEvent], Q]:
    """Events of the current schema that name the user: as actor, as resource, or in details."""
    as_actor = Q(actor_type__in=[AuditEvent.ActorType.USER, AuditEvent.ActorType.OPERATOR], actor_id=str(user_id))
    named = Q(resource_type="user", resource_id=str(user_id))
    if email:
        named |= Q(actor_label__iexact=email) | Q(details_text__icontains=email)
    return AuditEvent.objects.annotate(details_text=Cast("details", TextField())).filter(as_actor | named), as_actor


def _batched(rows: Iterable, size: int = 1000) -> Iterator[list]:
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


def audit_subject_erase(*, user_id: int, email: str, schemas: list[str], actor: Actor = None) -> dict[str, int]:
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
            with schema_context(schema), trigger_door("tollgate.audit_erasure"):
                count = _erase_events(user_id=user_id, email=email, pseudonym=pseudonym)
                count += _erase_model_history(user_id=user_id, email=email, pseudonym=pseudonym)
            if count:
                changed[schema] = count
        record(action="user_erased", actor=actor, resource=("user", user_id), severity="warning",
               details={"pseudonym": pseudonym, "rows": sum(changed.values()), "schemas": len(changed)})
    return changed
