from http import HTTPStatus

from core.errors import DomainError, InvalidInput


class CssRefused(InvalidInput):
    """Custom CSS with a construct outside the allowlist; `line` and `column` (1-based) point at it."""

    code = "css_refused"
    title = "Custom CSS refused"

    def __init__(self, detail: str, *, line: int, column: int) -> None:
        super().__init__(f"Line {line}, column {column}: {detail}", field="custom_css", line=line, column=column)


class ImageRefused(InvalidInput):
    code = "image_refused"
    title = "Image refused"


class PlanUpgradeRequired(DomainError):
    """The workspace's plan lacks the feature; the detail says how to get it."""

    code = "plan_upgrade_required"
    status = HTTPStatus.FORBIDDEN
    title = "Not in your plan"


class DomainVerificationFailed(DomainError):
    """The domain's TXT record was not found holding its token; the detail says what DNS answered."""

    code = "domain_verification_failed"
    status = HTTPStatus.UNPROCESSABLE_ENTITY
    title = "Domain not verified"
    example_detail = "No TXT record at _tollgate.app.example.com holds this domain's token yet (DNS answered NXDOMAIN)."


UPGRADE_PATH = "/billing/"


def upgrade_required(what: str, feature: str, field: str) -> PlanUpgradeRequired:
    return PlanUpgradeRequired(
        f"{what} is part of plans with {feature.replace('_', ' ')}. An owner can change the plan on the "
        f"Billing page ({UPGRADE_PATH}).", field=field, feature=feature, upgrade_url=UPGRADE_PATH)
