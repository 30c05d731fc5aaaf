"""Who may call what: key scopes, or a dashboard session's role (accounts.permissions)."""

from rest_framework.permissions import SAFE_METHODS, BasePermission

from accounts.permissions import can
from apikeys.authentication import ApiKeyPrincipal
from apikeys.errors import InsufficientScope
from tenants.errors import NotFound

# admin includes write, write includes read.
IMPLIED = {"admin": {"admin", "write", "read"}, "write": {"write", "read"}, "read": {"read"}}


def granted(scopes) -> set[str]:
    out: set[str] = set()
    for s in scopes:
        out |= IMPLIED.get(s, set())
    return out


class ScopePermission(BasePermission):
    """A view sets `required_scope`, or it is read for safe methods and write otherwise.

    A session (dashboard user) needs `session_action` in the role matrix instead.
    """

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
            return False
        tenant = getattr(request._request, "tenant", None)
        membership = getattr(request._request, "membership", None)
        if tenant is None or tenant.is_public or not membership or not membership.is_active:
            raise NotFound("No such resource.")
        request._request.workspace = tenant
        action = getattr(view, "session_action", "dashboard.view")
        if not can(membership.role, action):
            raise InsufficientScope("Your role does not allow this.")
        return True
