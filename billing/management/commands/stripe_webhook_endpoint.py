"""manage.py stripe_webhook_endpoint --base-url https://tollgate.example.com"""

from django.core.management.base import BaseCommand, CommandError

from billing.stripe.endpoint import webhook_endpoint_create
from core.errors import DomainError


class Command(BaseCommand):
    help = "Create the Stripe webhook endpoint Tollgate listens on (dj-stripe keeps its secret)."

    def add_arguments(self, parser):
        parser.add_argument("--base-url", required=True, help="Scheme and host of the public site Stripe can reach.")

    def handle(self, *args, base_url, **options):
        try:
            endpoint = webhook_endpoint_create(base_url=base_url)
        except DomainError as exc:
            raise CommandError(exc.detail)
        self.stdout.write(f"Stripe sends events to {endpoint.url}")
