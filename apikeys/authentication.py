"""DRF authentication by API key: `Authorization: Bearer <key>` or `X-API-Key: <key>`.

Sets request.workspace and request.api_key and switches the connection to the
workspace's schema. Zero SQL in steady state (apikeys.cache).
"""

import time

from rest_framework.authentication import BaseAuthentication

from apikeys import keys, last_used
from apikeys.cache import keys as key_cache
from apikeys.errors import ApiKeyExpired, ApiKeyRevoked, InvalidApiKey, IpNotAllowed
from core import context, db
from core.errors import TenantMismatch, WorkspaceSuspended


class ApiKeyPrincipal:
    """request.user for key-authenticated requests: not a person."""

    is_authenticated = True
    is_anonymous = False
    is_active = True
    is_staff = False
    is_superuser = False

    def __init__(self, key):
        self.key = key
        self.pk = None

    def __str__(self) -> str:
        return self.key.prefix


def credentials_from(request) -> str | None:
    header = request.META.get("HTTP_AUTHORIZATION", "")
    scheme, _, value = header.partition(" ")
    if scheme.lower() == "bearer" and value.strip():
        return value.strip()
    # Any other Authorization (a proxy's Basic credentials, say) leaves X-API-Key in charge.
    value = request.META.get("HTTP_X_API_KEY", "")
    return value.strip() or None


def verify(raw: str):
    """The cached key for `raw` if it is valid now. Raises the precise error otherwise.

    Only a caller who proved the whole secret learns that a key is revoked or expired;
    an unknown id and a wrong secret are the same `invalid_api_key`.
    """
    parsed = keys.parse(raw)
    if parsed is None:
        raise InvalidApiKey()
    entry = key_cache.get(parsed.key_id)
    # The digest is computed and compared whether or not the id is known (against a dummy when
    # not), so the answer's timing doesn't tell an unknown id from a wrong secret (issue 18).
    matched = keys.matches(parsed.secret, entry.digest if entry is not None else keys.DUMMY_DIGEST)
    if entry is None or not matched or entry.environment != parsed.environment:
        raise InvalidApiKey()
    now = time.time()
    if entry.revoked_ts <= now:
        raise ApiKeyRevoked()
    if entry.expires_ts <= now:
        raise ApiKeyExpired()
    return entry


class ApiKeyAuthentication(BaseAuthentication):
    # What it may refuse, for the OpenAPI document (core/openapi.py)
    problems = (InvalidApiKey, ApiKeyRevoked, ApiKeyExpired, WorkspaceSuspended, TenantMismatch, IpNotAllowed)

    def authenticate(self, request):
        raw = credentials_from(request._request)
        if raw is None:
            if request._request.META.get("HTTP_AUTHORIZATION", "").lower().startswith("bearer"):
                raise InvalidApiKey()
            return None
        entry = verify(raw)
        workspace = entry.workspace
        if not workspace.is_active:
            raise WorkspaceSuspended("This workspace is suspended. Contact the platform operator.")
        host_tenant = getattr(request._request, "tenant", None)
        if host_tenant is not None and not host_tenant.is_public and host_tenant.pk != workspace.pk:
            raise TenantMismatch("This key belongs to another workspace than the one this host serves.")
        named = request._request.META.get("HTTP_X_TENANT_ID")
        if named is not None and named not in (workspace.slug, str(workspace.pk)):
            raise TenantMismatch("X-Tenant-ID names another workspace than the key's.")
        if not entry.allows_ip(request._request.META.get("REMOTE_ADDR")):
            raise IpNotAllowed("Requests with this key are not allowed from your address.")

        request._request.workspace = workspace
        request._request.api_key = entry
        db.connection().set_tenant(workspace)
        context.workspace_slug.set(workspace.slug)
        context.key_prefix.set(entry.prefix)
        last_used.touch(entry.pk)
        return ApiKeyPrincipal(entry), entry

    def authenticate_header(self, request):
        return 'Bearer realm="api"'
