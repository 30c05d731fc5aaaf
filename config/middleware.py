import re
import uuid

from django.conf import settings
from django.core.signals import request_finished

from core import context as request_context

_VALID_REQUEST_ID = re.compile(r"^[A-Za-z0-9._:-]{8,128}$")


class RequestIdMiddleware:
    """Gives every request an id (the caller's X-Request-ID when it is sane) and echoes it back."""

    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        incoming = request.headers.get("X-Request-ID", "")
        rid = incoming if _VALID_REQUEST_ID.match(incoming) else uuid.uuid4().hex
        request.request_id = rid
        request_context.clear()
        request_context.request_id.set(rid)
        request_context.client_ip.set(request.META.get("REMOTE_ADDR"))
        request_context.user_agent.set(request.headers.get("User-Agent", "")[:300])
        response = self.get_response(request)
        response["X-Request-ID"] = rid
        # Cleared on request_finished (below), not here: Django logs 4xx/5xx lines
        # (django.request) after the middleware chain returns, and they need the id.
        return response


def _clear_context(**kwargs) -> None:
    request_context.clear()


request_finished.connect(_clear_context, dispatch_uid="tollgate.clear_request_context")


class ContentSecurityPolicyMiddleware:
    """A strict CSP on every HTML page: our own scripts and styles only, no inline script."""

    def __init__(self, get_response):
        self.get_response = get_response
        self.policy = getattr(
            settings,
            "CONTENT_SECURITY_POLICY",
            "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
            "object-src 'none'; base-uri 'self'; form-action 'self'; frame-ancestors 'none'",
        )

    def __call__(self, request):
        response = self.get_response(request)
        if response.get("Content-Type", "").startswith("text/html"):
            response.setdefault("Content-Security-Policy", self.policy)
        return response
