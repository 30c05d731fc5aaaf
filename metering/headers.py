"""Rate-limit headers: GitHub-style X-RateLimit-* for the tightest window, and the IETF
pair (draft-ietf-httpapi-ratelimit-headers) for every window, names stable across responses."""

import math


def _tightest(decision):
    if decision.refused is not None:
        return decision.refused
    return min(decision.checks, key=lambda c: (c.remaining / c.limit if c.limit else 0, c.reset_at))


def build(decision) -> dict[str, str]:
    if not decision.checks:
        return {}
    now = decision.now
    policies, states = [], []
    for c in decision.checks:
        w = c.policy_window
        policies.append(f'"{c.name}";q={c.limit}' + (f";w={w}" if w else ""))
        states.append(f'"{c.name}";r={c.remaining};t={max(0, math.ceil(c.reset_at - now))}')
    tight = _tightest(decision)
    headers = {
        "RateLimit-Policy": ", ".join(policies),
        "RateLimit": ", ".join(states),
        "X-RateLimit-Limit": str(tight.limit),
        "X-RateLimit-Remaining": str(tight.remaining),
        "X-RateLimit-Reset": str(math.ceil(tight.reset_at)),
    }
    if decision.refused is not None:
        headers["Retry-After"] = str(decision.retry_after)
    return headers
