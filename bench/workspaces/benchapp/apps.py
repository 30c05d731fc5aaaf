from django.apps import AppConfig


class BenchAppConfig(AppConfig):
    name = "bench.workspaces.benchapp"
    label = "benchapp"
    default_auto_field = "django.db.models.BigAutoField"
