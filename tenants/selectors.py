"""Reads of workspaces and domains. Host resolution is served from process memory."""

from django.conf import settings
from django.http.request import split_domain_port

from core.cache import ALL, MISSING, LocalCache
from core.db import connection
from tenants.models import Domain, Workspace

PUBLIC_SCHEMA = "public"


def public_tenant() -> Workspace:
    """The public site is not a row: an unsaved Workspace naming the public schema."""
    return Workspace(schema_name=PUBLIC_SCHEMA, name="Tollgate", slug="", status=Workspace.Status.ACTIVE)


_PUBLIC = public_tenant()


def _host_topics(topic: str) -> object:
    """"host" (a domain changed) and "workspace:<pk>" drop every host; "host:<name>" (a new
    workspace's host, perhaps remembered as unknown) drops that one only: a signup must not
    make every process look up every other workspace's host again."""
    if topic.startswith("host:"):
        return topic[5:]
    return ALL if topic == "host" or topic.startswith("workspace:") else None


# hostname -> Workspace, or None for a host that names none (remembered 5 s: a flood of random
# hosts costs one query each per 5 s, not one per request). Room for every host of a large
# deployment: full, the cache empties itself, and with as many hosts in use as the old bound
# (10,000) it kept emptying and looking every host up again.
_hosts = LocalCache("hosts", topics=_host_topics, max_entries=100_000, negative_max_age=5.0)


def normalize_host(raw_host: str) -> str:
    domain, _port = split_domain_port(raw_host)
    return domain.lower().rstrip(".")


def workspace_for_host(hostname: str) -> Workspace | None:
    """The workspace a hostname names, the public tenant, or None for an unknown host.

    Served from memory in steady state (no SQL), invalidated over pub/sub when a
    workspace or domain changes.
    """
    if hostname in settings.PUBLIC_HOSTS:
        return _PUBLIC
    workspace = _hosts.get(hostname)
    if workspace is MISSING:
        workspace = _hosts.put(hostname, _lookup_host(hostname))
    return workspace


def _lookup_host(hostname: str) -> Workspace | None:
    suffix = "." + settings.BASE_DOMAIN
    if hostname.endswith(suffix):
        label = hostname[: -len(suffix)]
        if "." in label:
            return None
        return Workspace.objects.filter(slug=label).first()
    domain = (
        Domain.objects.select_related("tenant")
        .filter(domain=hostname, verified_at__isnull=False)
        .first()
    )
    return domain.tenant if domain else None


def workspace_get(*, slug: str) -> Workspace | None:
    return Workspace.objects.filter(slug=slug).first()


def workspace_host(workspace: Workspace) -> str:
    return f"{workspace.slug}.{settings.BASE_DOMAIN}"


def workspace_url(workspace: Workspace | None, path: str = "/") -> str:
    host = workspace_host(workspace) if workspace is not None and not workspace.is_public else settings.BASE_DOMAIN
    return settings.SITE_URL_TEMPLATE.format(host=host) + path


def workspace_list() -> "list[Workspace]":
    return list(Workspace.objects.order_by("slug"))


def workspace_has_feature(*, workspace: Workspace, feature: str) -> bool:
    """Whether the workspace's plan includes `feature` (tenants.services.FEATURES); unknown: no."""
    return bool((workspace.features or {}).get(feature, False))


def workspace_by_schema(*, schema_name: str) -> Workspace | None:
    return Workspace.objects.filter(schema_name=schema_name).first()


def audit_schemas() -> list[str]:
    """Every schema with an audit trail: the public schema (platform events) and each workspace's."""
    return [PUBLIC_SCHEMA, *Workspace.objects.order_by("pk").values_list("schema_name", flat=True)]


def lock_workspace(*, pk: int) -> Workspace | None:
    """The workspace's row, locked until the transaction ends (None when it is gone)."""
    return Workspace.objects.select_for_update().filter(pk=pk).first()


def workspace_deletion_summary(workspace: Workspace) -> dict:
    """What deleting the workspace removes, for the operator to read before confirming: the
    rows that point at it in the public schema, per model, and its schema's size on disk."""
    related = {}
    for relation in Workspace._meta.related_objects:
        model = relation.related_model
        count = model._default_manager.filter(**{relation.field.name: workspace}).count()
        if count:
            related[model._meta.verbose_name_plural.capitalize()] = count
    with connection().cursor() as cursor:
        cursor.execute(
            "SELECT count(*), coalesce(sum(pg_total_relation_size(c.oid)), 0) FROM pg_class c "
            "JOIN pg_namespace n ON n.oid = c.relnamespace WHERE n.nspname = %s AND c.relkind = 'r'",
            [workspace.schema_name])
        tables, size = cursor.fetchone()
    return {"schema": workspace.schema_name, "tables": tables, "bytes": size, "related": related}


def workspace_cached(*, slug: str) -> Workspace | None:
    """The workspace `slug` names, from process memory: the host cache, by its host
    (<slug>.<BASE_DOMAIN>), so it is invalidated with it (a suspension, a deletion)."""
    return workspace_for_host(f"{slug}.{settings.BASE_DOMAIN}")


def workspace_display_name(workspace: Workspace) -> str:
    """The name people see for the workspace: its branding's company name, or its own."""
    return (workspace.brand or {}).get("company_name") or workspace.name


def domain_list(*, workspace: Workspace) -> list[Domain]:
    return list(Domain.objects.filter(tenant=workspace).order_by("domain"))


def domain_get(*, workspace: Workspace, pk: int) -> Domain | None:
    """The workspace's domain `pk`; another workspace's is None, like one that does not exist."""
    return Domain.objects.select_related("tenant").filter(tenant=workspace, pk=pk).first()


def domain_by_id(*, pk: int) -> Domain | None:
    return Domain.objects.select_related("tenant").filter(pk=pk).first()


def domains_verified() -> list[Domain]:
    """Every verified custom domain (the daily recheck's list), with its workspace."""
    return list(Domain.objects.select_related("tenant").filter(verified_at__isnull=False).order_by("pk"))
