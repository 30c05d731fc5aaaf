"""Billing's refusals (core.problems renders them as RFC 9457 problems)."""

from http import HTTPStatus

from core.errors import Conflict, DomainError


class StripeNotConfigured(DomainError):
    code = "stripe_not_configured"
    # 409, not 503: the installation is working as configured (no retry will help, connecting
    # Stripe will), and a 5xx would read as an outage to clients and to the schema fuzzer.
    status = HTTPStatus.CONFLICT
    title = "Stripe is not connected"

    def __init__(self, detail: str | None = None, **extra):
        super().__init__(detail or (
            "Payments are not collected on this installation: Stripe is not connected. An operator connects it "
            "by setting STRIPE_SECRET_KEY and creating the webhook endpoint (manage.py stripe_webhook_endpoint); "
            "until then operators assign plans in the admin."), **extra)


class StripeUnavailable(DomainError):
    code = "stripe_unavailable"
    status = HTTPStatus.BAD_GATEWAY
    title = "Stripe did not answer"


class NoStripeSubscription(Conflict):
    code = "no_stripe_subscription"
    title = "No paid subscription"


class SubscriptionEnded(Conflict):
    code = "subscription_ended"
    title = "Subscription ended"


class PlanNotForSale(Conflict):
    code = "plan_not_for_sale"
    title = "Plan not sold through Stripe"
