from django.apps import AppConfig


class AccountsConfig(AppConfig):
    name = "accounts"

    def ready(self):
        from accounts.tasks import critical_event_committed
        from auditing.signals import critical_event_committed as committed

        committed.connect(critical_event_committed, dispatch_uid="accounts.critical_event_committed")

        from accounts.tasks import domain_check_failed
        from tenants.signals import domain_check_failed as check_failed

        check_failed.connect(domain_check_failed, dispatch_uid="accounts.domain_check_failed")
