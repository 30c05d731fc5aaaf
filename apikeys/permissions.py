"""Who may call what: key scopes, or a dashboard session's role (accounts.permissions)."""

from rest_framework.permissions import SAFE_METHODS, BasePermission

from accounts.permissions import can
from apikeys.authentication import ApiKeyPrincipal, credentials_from
from apikeys.errors import InsufficientScope
from core.errors import AuthenticationRequired, NotFound


class ScopePermission(BasePermission):
    """A view sets `required_scope`, or it is read for safe methods and write otherwise.

    A session (dashboard user) needs `session_action` in the role matrix instead.
    """

    # What it may refuse, for the OpenAPI document (core/openapi.py): no credentials at all is
    # IsAuthenticated's 401 (core.problems), a key without the scope a 403.
    problems = (AuthenticationRequired, InsufficientScope)

    def has_permission(self, request, view):
        needed = getattr(view, "required_scope", None) or (
            "read" if request._request.method in SAFE_METHODS else "write")
        user = request.user
        if isinstance(user, ApiKeyPrincipal):
            if needed not in user.key.granted:
                raise InsufficientScope(f"This key lacks the '{needed}' scope this endpoint needs.",
                                        required_scope=needed)
            return True
        if user is None or not getattr(user, "is_authenticated", False):
            return self._demo(request, view)
        tenant = getattr(request._request, "tenant", None)
        membership = getattr(request._request, "membership", None)
        if tenant is None or tenant.is_public or not membership or not membership.is_active:
            raise NotFound("No such resource.")
        request._request.workspace = tenant
        action = getattr(view, "session_action", "dashboard.view")
        if not can(membership.role, action):
            raise InsufficientScope("Your role does not allow this.")
        return True

    @staticmethod
    def _demo(request, view) -> bool:
        """A call with no credentials at all, on the public host, to a handler that takes keyless
        demo calls (`@metered(..., demo=True)` marks it; metering/demo.py serves and counts it).
        Anything else without credentials is refused as before (401)."""
        django_request = request._request
        handler = getattr(view, (django_request.method or "").lower(), None)
        if not getattr(handler, "allows_demo", False) or credentials_from(django_request) is not None:
            return False
        tenant = getattr(django_request, "tenant", None)
        if tenant is not None and not tenant.is_public:
            return False
        django_request.demo_mode = True
        return True


def actor_of(request):
    """Who acts in this API request, for services' `actor` (and so the audit trail): the key's
    cached row for a key-authenticated call, the signed-in user for a dashboard session."""
    return request.user.key if isinstance(request.user, ApiKeyPrincipal) else request.user


def require_session_action(request, action: str, detail: str) -> None:
    """A dashboard session must also hold `action` in the role matrix (a key's scope already
    said yes: ScopePermission). Raises InsufficientScope with `detail`."""
    if isinstance(request.user, ApiKeyPrincipal):
        return
    membership = getattr(request._request, "membership", None)
    if not can(getattr(membership, "role", None), action):
        raise InsufficientScope(detail)
