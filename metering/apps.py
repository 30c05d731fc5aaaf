from django.apps import AppConfig


class MeteringConfig(AppConfig):
    name = "metering"

    def ready(self) -> None:
        from apikeys import services as key_services
        from metering.policy import plan_burst

        # apikeys sits below metering: it checks a key's burst against the plan through this reader.
        key_services.register_plan_burst(plan_burst)
