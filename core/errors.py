"""The one error base every app raises. Rendered once, as RFC 9457, by core.problems."""

from http import HTTPStatus


class DomainError(Exception):
    """A refusal the caller can act on. Subclasses set code, status and title."""

    code = "error"
    status = HTTPStatus.BAD_REQUEST
    title = "Bad request"
    type_uri: str | None = None

    def __init__(self, detail: str | None = None, *, headers: dict | None = None, **extra):
        self.detail = detail or self.title
        self.headers = headers or {}
        self.extra = extra
        super().__init__(self.detail)


class NotFound(DomainError):
    code = "not_found"
    status = HTTPStatus.NOT_FOUND
    title = "Not found"


class Forbidden(DomainError):
    code = "forbidden"
    status = HTTPStatus.FORBIDDEN
    title = "Forbidden"


class WorkspaceSuspended(DomainError):
    code = "workspace_suspended"
    status = HTTPStatus.FORBIDDEN
    title = "Workspace suspended"


class TenantMismatch(DomainError):
    code = "tenant_mismatch"
    status = HTTPStatus.FORBIDDEN
    title = "Credentials belong to another workspace"


class InvalidInput(DomainError):
    code = "invalid_input"
    status = HTTPStatus.BAD_REQUEST
    title = "Invalid input"


class Conflict(DomainError):
    code = "conflict"
    status = HTTPStatus.CONFLICT
    title = "Conflict"
