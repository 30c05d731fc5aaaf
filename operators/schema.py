"""OpenAPI (drf-spectacular): how operator tokens are sent."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class OperatorTokenScheme(OpenApiAuthenticationExtension):
    target_class = "operators.authentication.OperatorTokenAuthentication"
    name = "OperatorToken"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "An operator token `tg_op_<id>_<secret>` (`manage.py create_operator_token`) as "
                           "`Authorization: Bearer <token>`. Workspace API keys are refused here.",
        }
