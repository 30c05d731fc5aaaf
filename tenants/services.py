"""Workspace lifecycle. Every write to Workspace and Domain goes through here."""

import logging
import re

from django.conf import settings
from django.core.exceptions import ValidationError
from django.db import IntegrityError, ProgrammingError, transaction
from django.utils import timezone

from auditing.services import record
from core import invalidation
from core.db import connection
from core.errors import Conflict, InvalidInput, NotFound
from core.types import Actor
from tenants import signals
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


def workspace_set_brand(*, workspace: Workspace, brand: dict) -> Workspace:
    """Record what pages and emails show of the workspace's branding (Workspace.brand). Called
    by branding's service only, inside its transaction; every process drops the workspace's
    cached hosts once it commits, so the next page shows the new brand."""
    # An UPDATE, not workspace.save(): the caller's instance may be the one the host cache
    # shares between requests, which must keep the committed brand until the invalidation.
    with transaction.atomic(savepoint=False):
        Workspace.objects.filter(pk=workspace.pk).update(brand=brand)
    invalidation.publish(f"workspace:{workspace.pk}")
    return workspace


DOMAIN_RE = re.compile(r"^(?=.{4,253}$)(?:[a-z0-9](?:[a-z0-9-]{0,61}[a-z0-9])?\.)+[a-z][a-z0-9-]{0,61}[a-z0-9]$")


def domain_add(*, workspace: Workspace, domain: str, actor: Actor = None) -> Domain:
    """Add a custom domain, unverified: it routes nothing until branding.domains finds its TXT
    record (Domain.verification_token). Raises InvalidInput for a name that is not a domain
    or one of the platform's own hosts, Conflict when any workspace already has it."""
    domain = (domain or "").strip().lower().rstrip(".")
    if not DOMAIN_RE.match(domain):
        raise InvalidInput("Enter a domain name such as app.example.com (letters, digits, hyphens and dots).",
                           field="domain")
    base = settings.BASE_DOMAIN
    if domain == base or domain.endswith("." + base) or domain in settings.PUBLIC_HOSTS:
        raise InvalidInput(f"{domain} is one of this platform's own addresses: enter a domain of yours.",
                           field="domain")
    if Domain.objects.filter(domain=domain).exists():
        raise Conflict("This domain is already in use.", field="domain")
    with transaction.atomic():
        try:
            with transaction.atomic():
                row = Domain.objects.create(domain=domain, tenant=workspace, is_primary=False)
        except IntegrityError as exc:  # added by another workspace since the check above
            raise Conflict("This domain is already in use.", field="domain") from exc
        record(action="domain_added", actor=actor, resource=row, workspace=workspace, details={"domain": domain})
    return row


def domain_check_record(*, domain: Domain, ok: bool, error: str = "", actor: Actor = None) -> Domain:
    """Record the outcome of looking up the domain's TXT record (branding.domains does the
    looking: this is the one place its outcome is written).

    Found: the domain is (still) verified and routes to its workspace. Not found: a domain
    never verified stays unverified; a verified one counts a failure, and after
    DOMAIN_MAX_FAILURES in a row is dropped (stops routing everywhere once this commits).
    Each failure of a verified domain is told to the workspace's owners (signals.domain_check_failed).
    """
    now = timezone.now()
    with transaction.atomic():
        was_verified = domain.verified_at is not None
        domain.last_checked_at = now
        domain.last_check_error = "" if ok else error[:300]
        dropped = False
        if ok:
            domain.check_failures = 0
            if not was_verified:
                domain.verified_at = now
        elif was_verified:
            domain.check_failures += 1
            if domain.check_failures >= settings.DOMAIN_MAX_FAILURES:
                domain.verified_at = None
                dropped = True
        domain.save(update_fields=["verified_at", "last_checked_at", "last_check_error", "check_failures"])
        if ok and not was_verified:
            record(action="domain_verified", actor=actor, resource=domain, workspace=domain.tenant,
                   details={"domain": domain.domain})
        elif not ok and was_verified:
            record(action="domain_dropped" if dropped else "domain_check_failed", actor=actor, resource=domain,
                   workspace=domain.tenant, severity="warning",
                   details={"domain": domain.domain, "failures": domain.check_failures, "error": domain.last_check_error})
            failures, pk = domain.check_failures, domain.pk
            transaction.on_commit(lambda: signals.domain_check_failed.send(
                sender=Domain, domain_id=pk, failures=failures, dropped=dropped))
    if (ok and not was_verified) or dropped:
        invalidation.publish("host")
    return domain


def domain_remove(*, domain: Domain, actor: Actor = None) -> None:
    """Delete a custom domain; it stops routing everywhere once this commits."""
    with transaction.atomic():
        record(action="domain_removed", actor=actor, resource=domain, workspace=domain.tenant,
               details={"domain": domain.domain, "was_verified": domain.verified_at is not None})
        Domain.objects.filter(pk=domain.pk).delete()
    invalidation.publish("host")
