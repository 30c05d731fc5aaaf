"""The email about a committed critical audit event."""

from django_tenants.utils import get_public_schema_name, schema_context

from auditing.models import AuditEvent


def critical_event_notify(*, schema_name: str, event_id: int, recipients: list[str], workspace_name: str = "",
                          url: str = "") -> int:
    """Email `recipients` about a committed critical event of `schema_name` (the workspace
    called `workspace_name`, or the platform's public schema), linking to `url` (where to read
    the trail: the caller builds it from the configured site, never from a request's Host);
    returns how many were sent."""
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
    body = render_to_string("auditing/critical_event.txt",
                            {"event": event, "where": where, "platform": platform, "url": url})
    send_mail(subject=subject, message=body, from_email=None, recipient_list=sorted(set(recipients)))
    return len(set(recipients))
