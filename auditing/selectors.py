"""Reads of the audit trail, always in one named workspace's schema.

django-tenants binds a query to whatever schema the connection points at when the query
runs, not when it is built; so these selectors evaluate inside `schema_context` of the
workspace they were given, and never hand out a lazy queryset.
"""

import base64
import binascii
from collections.abc import Iterable, Iterator
from dataclasses import dataclass

from django.db.models import Q, QuerySet, TextField
from django.db.models.functions import Cast
from django_tenants.utils import get_public_schema_name, schema_context

from auditing import chain
from auditing.filters import AuditFilters
from auditing.models import AuditEvent
from core.types import WorkspaceLike

EXPORT_FIELDS = (
    "id", "occurred_at", "actor_type", "actor_id", "actor_label", "action", "severity", "resource_type",
    "resource_id", "ip", "user_agent", "request_id", "outcome", "details", "prev_hash", "hash",
)


def _schema(workspace: WorkspaceLike) -> str:
    if workspace is None or workspace.is_public:
        raise ValueError("audit selectors need a workspace; platform events are read in Django admin")
    return workspace.schema_name


def _filtered(filters: AuditFilters) -> QuerySet[AuditEvent]:
    qs = AuditEvent.objects.all()
    if filters.actor:
        kind, _, actor_id = filters.actor.partition(":")
        if actor_id and kind in AuditEvent.ActorType.values:  # "user:12": ids only mean something with a type
            qs = qs.filter(actor_type=kind, actor_id=actor_id)
        else:
            qs = qs.filter(actor_label__iexact=filters.actor)
    if filters.actor_type:
        qs = qs.filter(actor_type=filters.actor_type)
    if filters.actions:
        qs = qs.filter(action__in=filters.actions)
    if filters.severities:
        qs = qs.filter(severity__in=filters.severities)
    if filters.resource_type:
        qs = qs.filter(resource_type=filters.resource_type)
    if filters.resource_id:
        qs = qs.filter(resource_id=filters.resource_id)
    if filters.since:
        qs = qs.filter(occurred_at__gte=filters.since)
    if filters.until:
        qs = qs.filter(occurred_at__lt=filters.until)
    if filters.q:
        qs = qs.annotate(details_text=Cast("details", TextField())).filter(details_text__icontains=filters.q)
    return qs


# Keyset pagination: newest first; a cursor is the id the next page starts below.

def encode_cursor(event_id: int) -> str:
    return base64.urlsafe_b64encode(f"e:{event_id}".encode()).decode().rstrip("=")


def decode_cursor(cursor: str) -> int:
    """Raises ValueError for a cursor this module did not make."""
    try:
        text = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except (binascii.Error, UnicodeDecodeError, ValueError):
        raise ValueError("This page cursor is not valid. Start again from the first page.")
    kind, _, value = text.partition(":")
    if kind != "e" or not value.isdigit():
        raise ValueError("This page cursor is not valid. Start again from the first page.")
    return int(value)


@dataclass(frozen=True)
class AuditPage:
    events: list[AuditEvent]
    next_cursor: str | None


def audit_event_page(*, workspace: WorkspaceLike, filters: AuditFilters, limit: int, cursor: str | None = None) -> AuditPage:
    """One page of the workspace's events, newest first. Raises ValueError for a bad cursor."""
    with schema_context(_schema(workspace)):
        qs = _filtered(filters)
        if cursor:
            qs = qs.filter(id__lt=decode_cursor(cursor))
        rows = list(qs.order_by("-id")[: limit + 1])
    more = len(rows) > limit
    rows = rows[:limit]
    return AuditPage(events=rows, next_cursor=encode_cursor(rows[-1].pk) if more and rows else None)


def audit_event_rows(*, workspace: WorkspaceLike, filters: AuditFilters, upto_id: int | None = None,
                     chunk_size: int = 2000) -> Iterator[tuple]:
    """Every matching event of the workspace as a tuple of EXPORT_FIELDS, oldest first.

    A generator over a server-side cursor (`.iterator(chunk_size)`): memory stays flat at
    any size. The schema is entered when iteration starts, so a streaming response can
    consume it after the tenant middleware has reset the connection.
    """
    schema = _schema(workspace)
    with schema_context(schema):
        qs = _filtered(filters)
        if upto_id is not None:
            qs = qs.filter(id__lte=upto_id)
        yield from qs.order_by("id").values_list(*EXPORT_FIELDS).iterator(chunk_size=chunk_size)


def audit_chain_verify(*, workspace: WorkspaceLike | None = None) -> chain.ChainReport:
    """Verify the chain of `workspace`'s schema (None: the public schema)."""
    schema = get_public_schema_name() if workspace is None else workspace.schema_name
    with schema_context(schema):
        return chain.verify_current_schema()


def audit_subject_events(*, user_id: int, email: str, workspaces: Iterable[WorkspaceLike]) -> list[dict]:
    """Every audit event that names the user, in the public schema and each of `workspaces`
    (every workspace: the caller passes them), for their data export."""
    out = []
    schemas = [(get_public_schema_name(), None), *[(w.schema_name, w.slug) for w in workspaces]]
    who = Q(actor_type__in=[AuditEvent.ActorType.USER, AuditEvent.ActorType.OPERATOR], actor_id=str(user_id))
    who |= Q(resource_type="user", resource_id=str(user_id))
    if email:
        who |= Q(actor_label__iexact=email) | Q(details_text__icontains=email)
    for schema, slug in schemas:
        with schema_context(schema):
            qs = AuditEvent.objects.annotate(details_text=Cast("details", TextField())).filter(who).order_by("id")
            for row in qs.values(*EXPORT_FIELDS).iterator(chunk_size=2000):
                out.append({"workspace": slug, **row})
    return out
