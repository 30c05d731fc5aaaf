"""Reads of workspaces and domains. Host resolution is served from process memory."""

import threading
import time

from django.conf import settings
from django.http.request import split_domain_port

from tenants import invalidation
from tenants.models import Domain, Workspace

PUBLIC_SCHEMA = "public"


def public_tenant() -> Workspace:
    """The public site is not a row: an unsaved Workspace naming the public schema."""
    return Workspace(schema_name=PUBLIC_SCHEMA, name="Tollgate", slug="", status=Workspace.Status.ACTIVE)


_PUBLIC = public_tenant()
_NEGATIVE_TTL = 5.0


class _HostCache:
    """hostname -> (Workspace | None, stored_at). Unknown hosts are remembered briefly too."""

    def __init__(self) -> None:
        self._data: dict[str, tuple[Workspace | None, float]] = {}
        self._lock = threading.Lock()
        invalidation.register(self.on_invalidate)

    def get(self, host: str):
        entry = self._data.get(host)
        if entry is None:
            return None
        value, stored_at = entry
        age = time.monotonic() - stored_at
        limit = invalidation.max_age() if value is not None else min(_NEGATIVE_TTL, invalidation.max_age())
        return entry if age < limit else None

    def put(self, host: str, value: Workspace | None) -> None:
        with self._lock:
            if len(self._data) > 10_000:  # a flood of random hosts must not grow memory
                self._data.clear()
            self._data[host] = (value, time.monotonic())

    def on_invalidate(self, topic: str) -> None:
        if topic in ("all", "host") or topic.startswith("workspace:"):
            with self._lock:
                self._data.clear()


_hosts = _HostCache()


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
    cached = _hosts.get(hostname)
    if cached is not None:
        return cached[0]
    workspace = _lookup_host(hostname)
    _hosts.put(hostname, workspace)
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
