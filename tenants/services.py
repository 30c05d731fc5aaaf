"""Workspace lifecycle. Every write to Workspace and Domain goes through here."""

import logging

from django.core.exceptions import ValidationError
from django.db import IntegrityError, ProgrammingError, transaction
from django.utils import timezone

from auditing.services import record
from core import invalidation
from core.db import connection
from core.errors import Conflict, InvalidInput, NotFound
from core.types import Actor
from tenants.models import Domain, Workspace, validate_slug
from tenants.provisioning.ddl import quote_ident
from tenants.provisioning.snapshot import current_snapshot, provisioning_lock, schema_provision
from tenants.selectors import lock_workspace, workspace_host

logger = logging.getLogger(__name__)

DUPLICATE_SCHEMA = "42P06"


def _taken(slug: str) -> Conflict:
    return Conflict(f"The address {slug!r} is taken. Choose another.", field="slug")


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
        raise _taken(slug)
    return name, slug


def workspace_create(*, name: str, slug: str, actor: Actor = None) -> Workspace:
    """Create a workspace and its schema: the template's script replayed in this transaction
    (tenants.provisioning), at a cost that does not grow with the number of workspaces.

    Raises InvalidInput for a bad name or slug, Conflict when the slug is taken, also when a
    concurrent signup takes it first. Runs inside the caller's transaction when there is one
    (signup creates user, workspace and membership in one): if it rolls back, nothing of the
    workspace is left, its schema included.
    """
    name, slug = workspace_validate(name=name, slug=slug)

    # A savepoint, not savepoint=False: a refusal found after the row was written (a concurrent
    # signup took the slug; a schema of that name exists) undoes this and leaves the caller's
    # transaction usable.
    with transaction.atomic():
        snapshot = current_snapshot()
        workspace = Workspace(name=name, slug=slug, schema_name=Workspace.schema_name_for(slug),
                              schema_state=snapshot.state)
        try:
            # The row before the schema: a concurrent signup for the same slug waits here on
            # the unique index until the first commits, then fails, before any DDL.
            workspace.save()
        except IntegrityError as exc:
            raise _taken(slug) from exc
        try:
            schema_provision(schema_name=workspace.schema_name, snapshot=snapshot)
        except ProgrammingError as exc:
            if getattr(exc.__cause__, "sqlstate", None) != DUPLICATE_SCHEMA:
                raise
            # A schema left by a row deleted without workspace_delete. Its data is not ours to
            # drop on a signup's behalf: the address stays taken until an operator looks.
            logger.error("schema %s exists with no workspace row: slug %s refused", workspace.schema_name, slug)
            raise _taken(slug) from exc
        record(action="workspace_created", actor=actor, resource=workspace, workspace=None,
               details={"slug": slug, "name": name})
    invalidation.publish(f"host:{workspace_host(workspace)}")
    return workspace


def workspace_provisioning_lock() -> None:
    """Take the locks making a workspace's schema needs, first thing in a transaction that will
    call workspace_create after writing rows of its own (signup inserts its user first):
    taken later, two such transactions can deadlock (tenants.provisioning.snapshot.provisioning_lock).
    """
    provisioning_lock(current_snapshot())


def workspace_delete(*, workspace: Workspace, confirm: str, actor: Actor) -> dict[str, int]:
    """Delete a workspace for good: drop its schema (usage, audit trail, branding: all its
    private data) and delete its row with what hangs on it in the public schema (domains,
    members, invitations, API keys, subscription), in one transaction, audited as a
    critical platform event. Returns the number of rows deleted per model.

    `confirm` must be the workspace's slug, typed by the operator. Keys stop working
    everywhere once the transaction commits (cache invalidation).

    Raises InvalidInput when `confirm` is not the slug, NotFound when the workspace is gone.
    """
    if (confirm or "").strip().lower() != workspace.slug:
        raise InvalidInput(f"Type the workspace's address ({workspace.slug}) to confirm.", field="confirm")
    with transaction.atomic(durable=True):
        locked = lock_workspace(pk=workspace.pk)
        if locked is None:
            raise NotFound("This workspace no longer exists.")
        with connection().cursor() as cursor:
            cursor.execute(f"DROP SCHEMA IF EXISTS {quote_ident(locked.schema_name)} CASCADE")
        # QuerySet.delete, not the model's: django-tenants' delete() would drop the schema
        # again only if auto_drop_schema were on; the cascade is Django's (every app's rows).
        _, per_model = Workspace.objects.filter(pk=locked.pk).delete()
        record(action="workspace_deleted", actor=actor, resource=locked, workspace=None, severity="critical",
               details={"slug": locked.slug, "name": locked.name, "schema": locked.schema_name,
                        "deleted": dict(sorted(per_model.items()))})
    invalidation.publish(f"workspace:{locked.pk}")  # its keys, its hosts, its policy: everywhere
    return per_model


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


def workspace_rename(*, workspace: Workspace, name: str, actor: Actor = None) -> Workspace:
    """Give the workspace a new display name (its address, the slug, never changes: keys, links
    and custom domains point at it). Audited in the workspace's own trail.

    Raises InvalidInput for an empty name or one over 100 characters.
    """
    name = (name or "").strip()
    if not name:
        raise InvalidInput("Give the workspace a name.", field="name")
    if len(name) > 100:
        raise InvalidInput("Keep the name under 100 characters.", field="name")
    if name == workspace.name:
        return workspace
    with transaction.atomic(durable=True):
        old = workspace.name
        workspace.name = name
        workspace.save(update_fields=["name"])
        record(action="workspace_renamed", actor=actor, resource=workspace, workspace=workspace,
               details={"from": old, "to": name})
    invalidation.publish(f"workspace:{workspace.pk}")  # hosts cache the workspace, its name with it
    return workspace


FEATURES = ("custom_branding", "custom_domain", "sso", "priority_support")


def workspace_set_features(*, workspace: Workspace, features: dict[str, bool], actor: Actor = None) -> Workspace:
    """Record the feature flags of the workspace's plan (billing calls this when the plan changes).

    Raises InvalidInput for an unknown flag or a value that is not a boolean.
    """
    unknown = sorted(set(features) - set(FEATURES))
    if unknown or not all(isinstance(v, bool) for v in features.values()):
        raise InvalidInput(f"Feature flags are booleans among {', '.join(FEATURES)}; got {unknown or features}.",
                           field="features")
    clean = {name: bool(features.get(name, False)) for name in FEATURES}
    if workspace.features == clean:
        return workspace
    with transaction.atomic():
        old = workspace.features
        workspace.features = clean
        workspace.save(update_fields=["features"])
        record(action="features_changed", actor=actor, resource=workspace, workspace=workspace,
               details={"from": old, "to": clean})
    invalidation.publish(f"workspace:{workspace.pk}")
    return workspace


def workspace_set_member_limit(*, workspace: Workspace, member_limit: int | None, actor: Actor = None) -> Workspace:
    """Record how many members the workspace's plan allows (None: unlimited); billing calls this
    when the plan changes, accounts checks it when inviting (accounts.limits).

    Raises InvalidInput for a negative or non-integer limit.
    """
    if member_limit is not None and (not isinstance(member_limit, int) or isinstance(member_limit, bool)
                                     or member_limit < 0):
        raise InvalidInput("A member limit is a non-negative whole number, or none for unlimited.",
                           field="member_limit")
    if workspace.member_limit == member_limit:
        return workspace
    with transaction.atomic():
        old = workspace.member_limit
        workspace.member_limit = member_limit
        workspace.save(update_fields=["member_limit"])
        record(action="member_limit_changed", actor=actor, resource=workspace, workspace=workspace,
               details={"from": old, "to": member_limit})
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
