from datetime import UTC, datetime
from http import HTTPStatus
from typing import ClassVar

from core.errors import DomainError

QUOTA_EXCEEDED_TYPE = "https://iana.org/assignments/http-problem-types#quota-exceeded"


class QuotaExceeded(DomainError):
    code = "quota_exceeded"
    status = HTTPStatus.TOO_MANY_REQUESTS
    title = "Quota exceeded"
    type_uri = QUOTA_EXCEEDED_TYPE
    example_detail = ("This workspace used its 10000 requests for this hour (pro plan). The quota resets at "
                      "2026-12-04T15:00:00Z. Upgrade your plan in the dashboard's billing page for higher limits.")
    example_extra: ClassVar[dict] = {
        "violated-policies": ["hour"], "meter": "requests", "window": "hour", "limit": 10000,
        "reset": 1796396400, "retry_after": 1837, "plan": "pro",
        "upgrade": "Upgrade your plan in the dashboard's billing page for higher limits."}


class RateLimited(QuotaExceeded):
    code = "rate_limited"
    title = "Too many requests"
    example_detail = ("This key's own burst limit is 5 requests per second. Retry after 1 s, or use a key with a "
                      "higher burst limit (the pro plan allows a key up to 100 per second).")
    example_extra: ClassVar[dict] = {
        "violated-policies": ["burst"], "meter": "requests", "window": "burst", "limit": 5,
        "reset": 1796394564, "retry_after": 1, "plan": "pro", "upgrade": None}


class SpendCapReached(QuotaExceeded):
    """The workspace's own overage budget is spent: 402, since money (a higher cap), not
    patience, is what lets the next request through before the month ends."""

    code = "spend_cap_reached"
    status = HTTPStatus.PAYMENT_REQUIRED
    title = "Spend cap reached"
    example_detail = ("This workspace's spend cap of $50.00 of overage this month is reached (pro plan). It resets "
                      "at 2027-01-01T00:00:00Z. Raise the spend cap on the dashboard's billing page.")
    example_extra: ClassVar[dict] = {
        "violated-policies": ["month"], "meter": "requests", "window": "month", "limit": 2000000,
        "reset": 1798761600, "retry_after": 2318400, "plan": "pro",
        "upgrade": "Raise the spend cap on the dashboard's billing page."}


class MeteringUnavailable(DomainError):
    code = "metering_unavailable"
    status = HTTPStatus.SERVICE_UNAVAILABLE
    title = "Metering unavailable"
    example_detail = "Usage can't be checked right now. Retry shortly."


def _per(window_seconds: int) -> str:
    return "second" if window_seconds == 1 else ("minute" if window_seconds == 60 else f"{window_seconds} seconds")


def _burst_detail(c, policy: dict, retry_after: int, upgrade: str) -> tuple[str, str]:
    """The 429 detail for a burst window, and the upgrade advice that goes with it: none when
    the key's own burst limit was hit, since a bigger plan would not raise it (engine.Window.source)."""
    plan = policy.get("plan", "current")
    per = _per(c.window_ms // 1000)
    if c.source == "key":
        burst = policy.get("burst")
        ceiling = (f"the {plan} plan allows a key up to {burst['limit']} per {_per(burst['window'])}" if burst
                   else f"the {plan} plan sets no burst limit")
        return (f"This key's own burst limit is {c.limit} requests per {per}. Retry after {retry_after} s, "
                f"or use a key with a higher burst limit ({ceiling}).", "")
    who = "each member's dashboard session" if c.source == "session" else "each key"
    return (f"The {plan} plan's burst limit allows {who} {c.limit} requests per {per}. "
            f"Retry after {retry_after} s. {upgrade}").strip(), upgrade


def refusal_error(decision, headers: dict) -> QuotaExceeded:
    """The 429 for a refused decision: which limit and window, when it resets, how to raise it;
    a 402 spend_cap_reached when the window is the owner's spend cap."""
    c, policy = decision.refused, decision.policy
    reset_iso = datetime.fromtimestamp(int(c.reset_at + 0.999), tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    upgrade = policy.get("upgrade") or ""
    if c.kind == "gcra":
        detail, upgrade = _burst_detail(c, policy, decision.retry_after, upgrade)
        cls: type[RateLimited | QuotaExceeded] = RateLimited
    elif c.reason == "spend_cap":
        detail = f"{c.note} The cap resets with the month at {reset_iso}.".strip()
        cls = SpendCapReached
        upgrade = "Raise the spend cap on the dashboard's billing page."
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
            **({"reason": c.reason} if c.reason else {}),
        },
    )
