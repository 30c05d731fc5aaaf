from django.apps import AppConfig


class AuditingConfig(AppConfig):
    name = "auditing"
    verbose_name = "Audit trail"

    def ready(self):
        from auditing.history import register_history
        from auditing.services import record
        from core.ops import signals

        register_history()

        def audit_backup(*, action: str, details: dict, **kwargs) -> None:
            # core can't import auditing (layers): backups announce themselves, we write the event.
            failed = action == "backup_failed"
            record(action=action, severity="error" if failed else "info", outcome="failure" if failed else "success",
                   details=details)

        signals.backup_finished.connect(audit_backup, weak=False, dispatch_uid="auditing.backup_finished")
