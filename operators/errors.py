from http import HTTPStatus

from core.errors import DomainError

_AUTH = {"WWW-Authenticate": 'Bearer realm="platform", error="invalid_token"'}


class InvalidOperatorToken(DomainError):
    """Also what a workspace's API key gets here: the platform API takes operator tokens only."""

    code = "invalid_operator_token"
    status = HTTPStatus.UNAUTHORIZED
    title = "Invalid operator token"
    example_detail = ("The platform API takes an operator token (tg_op_...) as `Authorization: Bearer <token>`; "
                      "`manage.py create_operator_token` makes one. Workspace API keys are not accepted here.")

    def __init__(self, detail=None, **kw):
        super().__init__(detail or "The platform API takes an operator token (tg_op_...) as `Authorization: Bearer "
                                   "<token>`; `manage.py create_operator_token` makes one. Workspace API keys are "
                                   "not accepted here.", headers=_AUTH, **kw)


class OperatorTokenInactive(DomainError):
    """Only a caller who proved the whole secret learns that the token is revoked or expired."""

    code = "operator_token_inactive"
    status = HTTPStatus.UNAUTHORIZED
    title = "Operator token revoked or expired"
    example_detail = "This operator token was revoked. Create a new one."

    def __init__(self, detail=None, **kw):
        super().__init__(detail, headers=_AUTH, **kw)


class OperatorScopeMissing(DomainError):
    code = "insufficient_scope"
    status = HTTPStatus.FORBIDDEN
    title = "Insufficient scope"
    example_detail = "This operator token lacks the 'workspaces:write' scope this call needs."


class OperatorIpNotAllowed(DomainError):
    code = "ip_not_allowed"
    status = HTTPStatus.FORBIDDEN
    title = "Address not allowed"
    example_detail = "This operator token is not allowed from your address."


class TooManyFailedAttempts(DomainError):
    code = "too_many_failed_attempts"
    status = HTTPStatus.TOO_MANY_REQUESTS
    title = "Too many failed attempts"
    example_detail = "Too many failed attempts from your address. Retry in 240 s."
