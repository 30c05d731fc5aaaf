"""The one place that talks to Stripe (stripe-python's resources, which follow `stripe.api_base`:
dj-stripe sets it from STRIPE_API_HOST). Every call names the pinned API version and the key
from settings, read at call time; Stripe's errors become billing's DomainErrors.
"""

import logging
from collections.abc import Callable
from typing import Any, TypeVar

import stripe
from django.conf import settings

from billing.errors import StripeNotConfigured, StripeUnavailable
from core.errors import InvalidInput

logger = logging.getLogger(__name__)

T = TypeVar("T")


def configured() -> bool:
    """Whether this installation collects payments through Stripe."""
    return bool(getattr(settings, "STRIPE_SECRET_KEY", ""))


def require() -> None:
    """Raises StripeNotConfigured when Stripe is not connected."""
    if not configured():
        raise StripeNotConfigured()


def options(idempotency_key: str | None = None) -> dict[str, Any]:
    opts: dict[str, Any] = {"api_key": settings.STRIPE_SECRET_KEY, "stripe_version": settings.STRIPE_API_VERSION}
    if idempotency_key:
        # Stripe keeps keys up to 255 characters.
        opts["idempotency_key"] = idempotency_key[:255]
    return opts


def call(fn: Callable[..., T], *args: Any, idempotency_key: str | None = None, **params: Any) -> T:
    """`fn(*args, **params)` against Stripe. Raises StripeNotConfigured, InvalidInput (Stripe
    refused the request), StripeUnavailable (Stripe could not be reached or failed)."""
    require()
    try:
        return fn(*args, **params, **options(idempotency_key))
    except stripe.IdempotencyError as exc:
        raise InvalidInput(f"Stripe refused a repeated request: {exc.user_message}")
    except (stripe.InvalidRequestError, stripe.CardError) as exc:
        raise InvalidInput(f"Stripe refused the request: {exc.user_message}")
    except stripe.AuthenticationError:
        logger.error("Stripe refused the configured STRIPE_SECRET_KEY")
        raise StripeUnavailable("Stripe refused this installation's key; an operator must check STRIPE_SECRET_KEY.")
    except stripe.StripeError as exc:
        logger.warning("Stripe call %s failed: %s", getattr(fn, "__qualname__", fn), exc)
        raise StripeUnavailable("Stripe could not be reached; try again in a moment.")


def as_dict(obj: Any) -> dict:
    """A Stripe object as plain data (what webhooks carry), for the sync code that reads both."""
    return obj.to_dict() if hasattr(obj, "to_dict") else dict(obj)
