"""The one error base every app raises. Rendered once, as RFC 9457, by core.problems."""

from http import HTTPStatus
from typing import ClassVar


class DomainError(Exception):
    """A refusal the caller can act on. Subclasses set code, status and title."""

    code = "error"
    status = HTTPStatus.BAD_REQUEST
    title = "Bad request"
    type_uri: str | None = None
    # For the OpenAPI document (core/openapi.py): a detail and extra fields to show in examples
    example_detail: str | None = None
    example_extra: ClassVar[dict] = {}

    def __init__(self, detail: str | None = None, *, headers: dict | None = None, **extra):
        self.detail = detail or self.title
        self.headers = headers or {}
        self.extra = extra
        super().__init__(self.detail)


class NotFound(DomainError):
    code = "not_found"
    status = HTTPStatus.NOT_FOUND
    title = "Not found"
    example_detail = "No such resource."


class Forbidden(DomainError):
    code = "forbidden"
    status = HTTPStatus.FORBIDDEN
    title = "Forbidden"


class WorkspaceSuspended(DomainError):
    code = "workspace_suspended"
    status = HTTPStatus.FORBIDDEN
    title = "Workspace suspended"
    example_detail = "This workspace is suspended. Contact the platform operator."


class UnknownHost(DomainError):
    """tenants.middleware: no workspace is served at the request's host."""

    code = "unknown_host"
    status = HTTPStatus.NOT_FOUND
    title = "Unknown host"
    example_detail = "No workspace is served at 'nosuch.tollgate.example'."


class TenantMismatch(DomainError):
    code = "tenant_mismatch"
    status = HTTPStatus.FORBIDDEN
    title = "Credentials belong to another workspace"
    example_detail = "X-Tenant-ID names another workspace than the key's."


class InvalidInput(DomainError):
    code = "invalid_input"
    status = HTTPStatus.BAD_REQUEST
    title = "Invalid input"
    example_detail = "This field is required."
    example_extra: ClassVar[dict] = {"errors": {"text": ["This field is required."]}, "field": "text"}


class Conflict(DomainError):
    code = "conflict"
    status = HTTPStatus.CONFLICT
    title = "Conflict"


# The problems core/problems.py answers for what Django or DRF refused before a view spoke.
# Classes like the others, so the mapper and the OpenAPI document (core/openapi.py) read one
# code, status and title from one place.

class BadRequest(DomainError):
    code = "bad_request"
    status = HTTPStatus.BAD_REQUEST
    title = "Bad request"
    example_detail = "The request was refused as malformed."


class MalformedJson(DomainError):
    code = "malformed_json"
    status = HTTPStatus.BAD_REQUEST
    title = "Malformed request body"
    example_detail = "JSON parse error - Expecting value: line 1 column 1 (char 0)"


class TooManyFields(DomainError):
    code = "too_many_fields"
    status = HTTPStatus.BAD_REQUEST
    title = "Too many parameters"


class AuthenticationRequired(DomainError):
    code = "authentication_required"
    status = HTTPStatus.UNAUTHORIZED
    title = "Authentication required"
    example_detail = "Send your API key as `Authorization: Bearer <key>` or `X-API-Key: <key>`."


class BodyTooLarge(DomainError):
    code = "body_too_large"
    status = HTTPStatus.REQUEST_ENTITY_TOO_LARGE
    title = "Request body too large"
    example_detail = "The request body is larger than 2.5 MB (2621440 bytes), the most this API reads."


class UnsupportedMediaType(DomainError):
    code = "unsupported_media_type"
    status = HTTPStatus.UNSUPPORTED_MEDIA_TYPE
    title = "Unsupported media type"
    example_detail = 'Unsupported media type "text/plain" in request.'


class Throttled(DomainError):
    code = "throttled"
    status = HTTPStatus.TOO_MANY_REQUESTS
    title = "Too many requests"


class InternalError(DomainError):
    code = "internal_error"
    status = HTTPStatus.INTERNAL_SERVER_ERROR
    title = "Internal server error"
    example_detail = "Something went wrong on our side. Quote the request id when you contact support."
