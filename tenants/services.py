"""Workspace lifecycle. Every write to Workspace and Domain goes through here."""

from django.core.exceptions import ValidationError
from django.db import transaction
from django.utils import timezone

from auditing.services import record
from core import invalidation
from core.errors import Conflict, InvalidInput
from core.types import Actor
from tenants.models import Domain, Workspace, validate_slug


def workspace_validate(*, name: str, slug: str) -> tuple[str, str]:
    """The (name, slug) a workspace created now would get, cleaned.

    Raises InvalidInput for a bad name or slug, Conflict when the slug is taken. Signup
    asks before anything exists (the workspace is created once its email is confirmed).
    """
    name = (name or "").strip()
    slug = (slug or "").strip().lower()
    if not name:
        raise InvalidInput("Give the workspace a name.", field="name")
    if len(name) > 100:
        raise InvalidInput("Keep the name under 100 characters.", field="name")
    try:
        validate_slug(slug)
    except ValidationError as exc:
        raise InvalidInput(exc.messages[0], field="slug") from exc
    if Workspace.objects.filter(slug=slug).exists():
        raise Conflict(f"The address {slug!r} is taken. Choose another.", field="slug")
    return name, slug


def workspace_create(*, name: str, slug: str, actor: Actor = None) -> Workspace:
    """Create a workspace and its schema (cloned from the template, ~0.3 s).

    Raises InvalidInput for a bad name or slug, Conflict when the slug is taken.
    Runs inside the caller's transaction when there is one (signup creates user,
    workspace and membership in one).
    """
    name, slug = workspace_validate(name=name, slug=slug)
    with transaction.atomic(savepoint=False):
        workspace = Workspace(name=name, slug=slug, schema_name=Workspace.schema_name_for(slug))
        workspace.save(verbosity=0)
        record(action="workspace_created", actor=actor, resource=workspace, workspace=None,
               details={"slug": slug, "name": name})
    invalidation.publish("host")
    return workspace


def workspace_set_status(*, workspace: Workspace, status: str, actor: Actor = None) -> Workspace:
    if status not in Workspace.Status.values:
        raise InvalidInput(f"Unknown status {status!r}.")
    if workspace.status == status:
        return workspace
    with transaction.atomic():
        workspace.status = status
        workspace.save(update_fields=["status"])
        action = "workspace_suspended" if status == Workspace.Status.SUSPENDED else "workspace_reactivated"
        record(action=action, actor=actor, resource=workspace, workspace=None,
               severity="warning" if status == Workspace.Status.SUSPENDED else "info")
    invalidation.publish(f"workspace:{workspace.pk}")
    return workspace


def domain_add(*, workspace: Workspace, domain: str, actor: Actor = None) -> Domain:
    domain = (domain or "").strip().lower().rstrip(".")
    if not domain or "." not in domain or len(domain) > 253:
        raise InvalidInput("Enter a domain name such as api.example.com.", field="domain")
    if Domain.objects.filter(domain=domain).exists():
        raise Conflict("This domain is already in use.", field="domain")
    with transaction.atomic():
        row = Domain.objects.create(domain=domain, tenant=workspace, is_primary=False)
        record(action="domain_added", actor=actor, resource=row, workspace=workspace, details={"domain": domain})
    return row


def domain_verify(*, domain: Domain, actor: Actor = None) -> Domain:
    with transaction.atomic():
        domain.verified_at = timezone.now()
        domain.save(update_fields=["verified_at"])
        record(action="domain_verified", actor=actor, resource=domain, workspace=domain.tenant,
               details={"domain": domain.domain})
    invalidation.publish("host")
    return domain
