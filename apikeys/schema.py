"""OpenAPI (drf-spectacular): how API keys are sent. Two schemes, either one: a key as
`Authorization: Bearer <key>` or in an `X-API-Key` header (apikeys.authentication)."""

from drf_spectacular.extensions import OpenApiAuthenticationExtension

_KEY = "An API key, `tg_live_<id>_<secret>` (or `tg_test_...`); it names its workspace."


class ApiKeyScheme(OpenApiAuthenticationExtension):
    target_class = "apikeys.authentication.ApiKeyAuthentication"
    name = ["ApiKey", "ApiKeyHeader"]

    def get_security_requirement(self, auto_schema):
        return [{"ApiKey": []}, {"ApiKeyHeader": []}]  # either, not both

    def get_security_definition(self, auto_schema):
        return [
            {"type": "http", "scheme": "bearer", "bearerFormat": "tg_live_<id>_<secret>",
             "description": f"{_KEY} Sent as `Authorization: Bearer <key>`."},
            {"type": "apiKey", "in": "header", "name": "X-API-Key", "description": f"{_KEY} Sent as `X-API-Key: <key>`."},
        ]
