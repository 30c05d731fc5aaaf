from django.apps import AppConfig


class AuditingConfig(AppConfig):
    name = "auditing"
    verbose_name = "Audit trail"

    def ready(self):
        from auditing.history import register_history

        register_history()
