"""Recording an export of the audit trail (auditing/exports.py streams it)."""

from django.db import transaction

from auditing.services.record import record
from core.types import Actor, WorkspaceLike


def audit_export_record(*, workspace: WorkspaceLike, actor: Actor, fmt: str, filters: dict) -> int:
    """Record that `actor` exported the workspace's audit log; returns the event's id.

    The export then covers events up to and including this one: a stable end point
    while new events keep arriving during a long download.
    """
    with transaction.atomic(durable=True):
        event = record(action="data_exported", actor=actor, resource=("audit_log", workspace.slug),
                       workspace=workspace, details={"format": fmt, "filters": filters})
    return event.pk
