from http import HTTPStatus
from typing import ClassVar

from core.errors import DomainError

_AUTH = {"WWW-Authenticate": 'Bearer realm="api", error="invalid_token"'}


class InvalidApiKey(DomainError):
    code = "invalid_api_key"
    status = HTTPStatus.UNAUTHORIZED
    title = "Invalid API key"

    def __init__(self, detail=None, **kw):
        super().__init__(detail or "This API key is not valid. Check that you copied all of it.", headers=_AUTH, **kw)


class ApiKeyRevoked(DomainError):
    code = "api_key_revoked"
    status = HTTPStatus.UNAUTHORIZED
    title = "API key revoked"

    def __init__(self, detail=None, **kw):
        super().__init__(detail or "This API key was revoked. Create a new one in the dashboard.", headers=_AUTH, **kw)


class ApiKeyExpired(DomainError):
    code = "api_key_expired"
    status = HTTPStatus.UNAUTHORIZED
    title = "API key expired"

    def __init__(self, detail=None, **kw):
        super().__init__(detail or "This API key has expired. Create or rotate a key in the dashboard.",
                         headers=_AUTH, **kw)


class InsufficientScope(DomainError):
    code = "insufficient_scope"
    status = HTTPStatus.FORBIDDEN
    title = "Insufficient scope"
    example_detail = "This key lacks the 'admin' scope this endpoint needs."
    example_extra: ClassVar[dict] = {"required_scope": "admin"}


class IpNotAllowed(DomainError):
    code = "ip_not_allowed"
    status = HTTPStatus.FORBIDDEN
    title = "Address not allowed"
    example_detail = "Requests with this key are not allowed from your address."


class ScopeNotGrantable(DomainError):
    """A key scope beyond what the caller's own role (or key) may do (accounts.permissions.GRANTABLE_SCOPES)."""

    code = "scope_not_grantable"
    status = HTTPStatus.FORBIDDEN
    title = "Scope beyond your role"
    example_detail = "Your role can't grant the 'admin' scope."
    example_extra: ClassVar[dict] = {"scope": "admin", "field": "scopes"}
