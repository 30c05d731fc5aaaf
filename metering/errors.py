from datetime import UTC, datetime
from http import HTTPStatus

from core.errors import DomainError

QUOTA_EXCEEDED_TYPE = "https://iana.org/assignments/http-problem-types#quota-exceeded"


class QuotaExceeded(DomainError):
    code = "quota_exceeded"
    status = HTTPStatus.TOO_MANY_REQUESTS
    title = "Quota exceeded"
    type_uri = QUOTA_EXCEEDED_TYPE


class RateLimited(QuotaExceeded):
    code = "rate_limited"
    title = "Too many requests"


class MeteringUnavailable(DomainError):
    code = "metering_unavailable"
    status = HTTPStatus.SERVICE_UNAVAILABLE
    title = "Metering unavailable"


def refusal_error(decision, headers: dict) -> QuotaExceeded:
    """The 429 for a refused decision: which limit and window, when it resets, how to raise it."""
    c, policy = decision.refused, decision.policy
    reset_iso = datetime.fromtimestamp(int(c.reset_at + 0.999), tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    upgrade = policy.get("upgrade") or ""
    if c.kind == "gcra":
        per = "second" if c.window_ms == 1000 else f"{c.window_ms // 1000} seconds"
        detail = (f"This key may send {c.limit} requests per {per}. "
                  f"Retry after {decision.retry_after} s, or ask for a higher burst limit on the key.")
        cls: type[RateLimited | QuotaExceeded] = RateLimited
    elif c.kind == "credits":
        detail = (f"This workspace used its {c.limit} {c.meter} credits for the month and has no top-up left. "
                  f"They refill at {reset_iso}. {upgrade}").strip()
        cls = QuotaExceeded
    else:
        detail = (f"This workspace used its {c.limit} {c.meter} for this {c.window} "
                  f"({policy.get('plan', 'current')} plan). The quota resets at {reset_iso}. {upgrade}").strip()
        cls = QuotaExceeded
    return cls(
        detail,
        headers=headers,
        **{
            "violated-policies": [c.name],
            "meter": c.meter,
            "window": c.window,
            "limit": c.limit,
            "reset": int(c.reset_at + 0.999),
            "retry_after": decision.retry_after,
            "plan": policy.get("plan"),
            "upgrade": upgrade or None,
        },
    )
