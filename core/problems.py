"""RFC 9457 problem details, built in one place for every API error.

Every problem carries `type`, `title`, `status`, `detail`, `instance`, plus our stable
`code` and the `request_id`. `exception_handler` is DRF's EXCEPTION_HANDLER.
"""

import logging
from http import HTTPStatus

from django.core.exceptions import PermissionDenied
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, JsonResponse
from rest_framework import exceptions as drf

from core import context
from core.errors import DomainError

logger = logging.getLogger(__name__)

PROBLEM_TYPE_BASE = "https://docs.tollgate.dev/problems/"
CONTENT_TYPE = "application/problem+json"


class ProblemResponse(JsonResponse):
    def __init__(self, body: dict, *, headers: dict | None = None):
        super().__init__(body, status=body["status"], content_type=CONTENT_TYPE, headers=headers)


def problem(
    *,
    status: int,
    code: str,
    title: str,
    detail: str,
    request=None,
    type_uri: str | None = None,
    headers: dict | None = None,
    **extra,
) -> ProblemResponse:
    body = {
        "type": type_uri or PROBLEM_TYPE_BASE + code.replace("_", "-"),
        "title": title,
        "status": int(status),
        "detail": detail,
        "instance": request.path if request is not None else None,
        "code": code,
        "request_id": getattr(request, "request_id", None) or context.request_id.get(),
    }
    body.update(extra)
    return ProblemResponse(body, headers=headers)


def from_domain_error(exc: DomainError, request=None) -> ProblemResponse:
    return problem(
        status=exc.status,
        code=exc.code,
        title=exc.title,
        detail=exc.detail,
        request=request,
        type_uri=exc.type_uri,
        headers=exc.headers,
        **exc.extra,
    )


def _field_errors(detail) -> dict:
    if isinstance(detail, dict):
        return {k: [str(m) for m in (v if isinstance(v, list) else [v])] for k, v in detail.items()}
    return {"non_field_errors": [str(m) for m in (detail if isinstance(detail, list) else [detail])]}


def exception_handler(exc, ctx):
    """Map every exception a DRF view raises to a problem. Unknown ones are re-raised (500)."""
    request = ctx.get("request")
    if isinstance(exc, DomainError):
        return from_domain_error(exc, request)
    if isinstance(exc, Http404):
        exc = drf.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = drf.PermissionDenied()
    elif isinstance(exc, DjangoValidationError):
        exc = drf.ValidationError(exc.message_dict if hasattr(exc, "error_dict") else exc.messages)

    if isinstance(exc, drf.ValidationError):
        errors = _field_errors(exc.detail)
        first = next(iter(errors.values()))[0] if errors else "Invalid input."
        return problem(
            status=400, code="invalid_input", title="Invalid input", detail=first, request=request, errors=errors
        )
    if isinstance(exc, drf.ParseError):
        return problem(status=400, code="malformed_json", title="Malformed request body", detail=str(exc.detail), request=request)
    if isinstance(exc, drf.UnsupportedMediaType):
        return problem(status=415, code="unsupported_media_type", title="Unsupported media type",
                       detail=str(exc.detail), request=request)
    if isinstance(exc, drf.NotAuthenticated | drf.AuthenticationFailed):
        return problem(
            status=401,
            code="authentication_required",
            title="Authentication required",
            detail="Send your API key as `Authorization: Bearer <key>` or `X-API-Key: <key>`.",
            request=request,
            headers={"WWW-Authenticate": 'Bearer realm="api"'},
        )
    if isinstance(exc, drf.Throttled):
        return problem(
            status=429, code="throttled", title="Too many requests", detail=str(exc.detail), request=request,
            headers={"Retry-After": str(int(exc.wait or 1))},
        )
    if isinstance(exc, drf.APIException):
        code = exc.default_code if isinstance(exc.default_code, str) else "error"
        return problem(
            status=exc.status_code,
            code=code,
            title=HTTPStatus(exc.status_code).phrase,
            detail=str(exc.detail),
            request=request,
        )
    return None


def api_404(request, exception=None):
    return problem(status=404, code="not_found", title="Not found", detail="No such resource.", request=request)


def api_500(request):
    return problem(
        status=500, code="internal_error", title="Internal server error",
        detail="Something went wrong on our side. Quote the request id when you contact support.", request=request,
    )
