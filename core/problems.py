"""RFC 9457 problem details, built in one place for every API error.

Every problem carries `type`, `title`, `status`, `detail`, `instance`, plus our stable
`code` and the `request_id`. `exception_handler` is DRF's EXCEPTION_HANDLER.
"""

import logging
from http import HTTPStatus
from typing import Any

from django.conf import settings
from django.core.exceptions import PermissionDenied, RequestDataTooBig, SuspiciousOperation, TooManyFieldsSent
from django.core.exceptions import ValidationError as DjangoValidationError
from django.http import Http404, JsonResponse
from rest_framework import exceptions as drf

from core import context
from core.errors import (
    AuthenticationRequired,
    BadRequest,
    BodyTooLarge,
    DomainError,
    InternalError,
    InvalidInput,
    MalformedJson,
    NotFound,
    Throttled,
    TooManyFields,
    UnsupportedMediaType,
)

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


def _field_errors(detail) -> dict[str, list[str]]:
    """DRF's error detail as `{field path: [message, ...]}`, plain strings only.

    Nested serializers and list items nest their errors (`{"scopes": {1: [ErrorDetail]}}`,
    a list of dicts for `many=True`): each message is filed under its dotted path
    (`scopes.1`, `items.0.name`); errors not tied to a field under `non_field_errors`.
    """
    errors: dict[str, list[str]] = {}
    stack = [("", detail)]
    while stack:
        path, node = stack.pop()
        if isinstance(node, dict):
            items = list(node.items())
        elif isinstance(node, list) and any(isinstance(item, dict | list) for item in node):
            items = list(enumerate(node))
        else:
            messages = node if isinstance(node, list) else [node]
            if messages:
                errors.setdefault(path or "non_field_errors", []).extend(str(m) for m in messages)
            continue
        stack.extend((f"{path}.{key}" if path else str(key), value) for key, value in reversed(items))
    return errors


def _suspicious(exc: SuspiciousOperation, request, *, log: bool = True) -> ProblemResponse:
    """A request Django refuses to read: a body over DATA_UPLOAD_MAX_MEMORY_SIZE is a 413, the
    rest (too many fields, a malformed multipart body...) a 400. Logged where Django logs them
    (`log=False` when Django already did)."""
    if log:
        logging.getLogger(f"django.security.{exc.__class__.__name__}").warning("%s", exc)
    if isinstance(exc, RequestDataTooBig):
        limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
        return from_domain_error(BodyTooLarge(
            f"The request body is larger than {limit / 1_048_576:g} MB ({limit} bytes), the most this API reads."),
            request)
    if isinstance(exc, TooManyFieldsSent):
        return from_domain_error(TooManyFields(
            f"The request has more than {settings.DATA_UPLOAD_MAX_NUMBER_FIELDS} query or form "
            "parameters, the most this API reads."), request)
    # The others' messages are for operators (DisallowedHost suggests an ALLOWED_HOSTS entry): not echoed
    return from_domain_error(BadRequest(BadRequest.example_detail), request)


def exception_handler(exc, ctx):
    """Map every exception a DRF view raises to a problem. Unknown ones are re-raised (500)."""
    request = ctx.get("request")
    if isinstance(exc, DomainError):
        return from_domain_error(exc, request)
    if isinstance(exc, SuspiciousOperation):
        return _suspicious(exc, request)
    if isinstance(exc, Http404):
        exc = drf.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = drf.PermissionDenied()
    elif isinstance(exc, DjangoValidationError):
        exc = drf.ValidationError(exc.message_dict if hasattr(exc, "error_dict") else exc.messages)

    if isinstance(exc, drf.ValidationError):
        errors = _field_errors(exc.detail)
        first_path, first = next(iter(errors.items()), ("", ["Invalid input."]))
        extra: dict[str, Any] = {"errors": errors}
        field = first_path.split(".")[0]
        if field and field != "non_field_errors":
            extra["field"] = field  # as the other invalid_input problems name theirs: the top-level field
        return from_domain_error(InvalidInput(first[0], **extra), request)
    if isinstance(exc, drf.ParseError):
        return from_domain_error(MalformedJson(str(exc.detail)), request)
    if isinstance(exc, drf.UnsupportedMediaType):
        return from_domain_error(UnsupportedMediaType(str(exc.detail)), request)
    if isinstance(exc, drf.NotAuthenticated | drf.AuthenticationFailed):
        return from_domain_error(AuthenticationRequired(
            AuthenticationRequired.example_detail, headers={"WWW-Authenticate": 'Bearer realm="api"'}), request)
    if isinstance(exc, drf.Throttled):
        return from_domain_error(Throttled(
            str(exc.detail), headers={"Retry-After": str(int(getattr(exc, "wait", None) or 1))}), request)
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


def api_400(request, exception=None):
    """handler400 for /api/: what Django refused before a view ran (or a view let through)."""
    if isinstance(exception, SuspiciousOperation):
        return _suspicious(exception, request, log=False)  # django.security logged it already
    return from_domain_error(BadRequest(BadRequest.example_detail), request)


def api_404(request, exception=None):
    return from_domain_error(NotFound("No such resource."), request)


def api_500(request):
    return from_domain_error(InternalError(InternalError.example_detail), request)
