"""The project's own Stripe-compatible server for the tests (server.py says what it does)."""

from tests.stripe_server.server import API_VERSION, FakeStripe, StripeError, sign

__all__ = ["API_VERSION", "FakeStripe", "StripeError", "sign"]
