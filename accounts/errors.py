from http import HTTPStatus

from core.errors import DomainError


class LastOwner(DomainError):
    code = "last_owner"
    status = HTTPStatus.CONFLICT
    title = "A workspace needs an owner"


class InvitationInvalid(DomainError):
    code = "invitation_invalid"
    status = HTTPStatus.BAD_REQUEST
    title = "This invitation can't be used"


class NotAllowed(DomainError):
    code = "insufficient_role"
    status = HTTPStatus.FORBIDDEN
    title = "Your role does not allow this"


class SignupInvalid(DomainError):
    code = "signup_invalid"
    status = HTTPStatus.BAD_REQUEST
    title = "This signup link can't be used"
