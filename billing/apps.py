from django.apps import AppConfig


class BillingConfig(AppConfig):
    name = "billing"

    def ready(self) -> None:
        # Stripe's webhook receivers (djstripe_receiver) and the Stripe side's Celery tasks.
        from billing.stripe import tasks, webhooks  # noqa: F401
