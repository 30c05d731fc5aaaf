from django.apps import AppConfig


class CoreConfig(AppConfig):
    """The ground every app stands on (DESIGN.md, "Layers"): it imports no app. An app only
    for its management commands (backup, restore, verify_backup) and Celery tasks."""

    name = "core"
    verbose_name = "Core"
