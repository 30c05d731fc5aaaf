from rest_framework.permissions import BasePermission

from operators.authentication import OperatorPrincipal
from operators.errors import InvalidOperatorToken, OperatorScopeMissing


class OperatorScopePermission(BasePermission):
    """The view's `required_scope` (per method: `required_scopes = {"GET": ..., "POST": ...}`)."""

    problems = (InvalidOperatorToken, OperatorScopeMissing)  # for the OpenAPI document (core/openapi.py)

    def has_permission(self, request, view):
        user = request.user
        if not isinstance(user, OperatorPrincipal):
            raise InvalidOperatorToken()
        scopes = getattr(view, "required_scopes", None)
        method = "GET" if request.method == "HEAD" else request.method  # DRF answers HEAD with get()
        needed = scopes.get(method) if scopes else getattr(view, "required_scope", None)
        if needed is None and request.method == "OPTIONS":
            return True
        if needed is None or needed not in (user.token.scopes or ()):
            raise OperatorScopeMissing(f"This operator token lacks the '{needed}' scope this call needs.",
                                       required_scope=needed)
        return True
