"""Tenant resolution from the Host header, replacing django-tenants' TenantMainMiddleware.

The stock middleware queries the Domain table on every request; this one serves the
lookup from tenants.selectors' in-process cache (zero SQL in steady state). Failing
closed: an unknown host is a 404, never a 500 and never the public site.
"""

from django.conf import settings
from django.shortcuts import render
from django.urls import set_urlconf

from core import context, db
from core.errors import UnknownHost, WorkspaceSuspended
from core.problems import from_domain_error
from tenants.selectors import normalize_host, workspace_for_host


def is_api_path(path: str) -> bool:
    return path.startswith("/api/")


class TenantMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        connection = db.connection()
        connection.set_schema_to_public()
        hostname = normalize_host(request._get_raw_host())
        workspace = workspace_for_host(hostname) if hostname else None
        if workspace is None:
            if is_api_path(request.path):
                return from_domain_error(UnknownHost(f"No workspace is served at {hostname!r}."), request)
            return render(request, "errors/unknown_host.html", {"hostname": hostname}, status=404)
        if not workspace.is_public and not workspace.is_active:
            if is_api_path(request.path):
                return from_domain_error(WorkspaceSuspended(WorkspaceSuspended.example_detail), request)
            return render(request, "errors/suspended.html", {"workspace": workspace}, status=403)

        request.tenant = workspace
        connection.set_tenant(workspace)
        context.workspace_slug.set(workspace.slug or None)
        if workspace.is_public:
            request.urlconf = settings.PUBLIC_SCHEMA_URLCONF
            set_urlconf(request.urlconf)
        try:
            return self.get_response(request)
        finally:
            connection.set_schema_to_public()
