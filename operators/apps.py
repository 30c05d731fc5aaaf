from django.apps import AppConfig


class OperatorsConfig(AppConfig):
    """Operator tokens and the platform API (/api/platform/v1/): the operators' automation,
    on top of every other app's services (the top layer, .importlinter)."""

    name = "operators"
    default_auto_field = "django.db.models.BigAutoField"

    def ready(self):
        from operators import schema  # noqa: F401  (registers the OpenAPI security scheme)
