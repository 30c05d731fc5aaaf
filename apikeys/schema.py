"""OpenAPI (drf-spectacular): how API keys are sent."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "apikeys.authentication.ApiKeyAuthentication"
    name = "ApiKey"

    def get_security_definition(self, auto_schema):
        return {
            "type": "http",
            "scheme": "bearer",
            "description": "An API key `tg_live_<id>_<secret>` as `Authorization: Bearer <key>` "
                           "(or in an `X-API-Key` header).",
        }
