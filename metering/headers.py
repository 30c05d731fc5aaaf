"""Rate-limit headers: GitHub-style X-RateLimit-* for the tightest window, and the IETF pair
(draft-ietf-httpapi-ratelimit-headers) for every window, names stable across responses.

RateLimit-Policy is the same for every request of a plan, so the Plan carries it ready-made;
only the state (RateLimit, X-RateLimit-*) is written per request.

Every value is ASCII without line breaks by construction: numbers, and window names made of
meter names that metering.policy.validate holds to ASCII letters, digits and underscores.
"""

import math


def build(decision) -> dict[str, str]:
    windows = decision.plan.windows
    if not windows:
        return {}
    now, remaining, resets, refused = decision.now, decision.remaining, decision.resets, decision.refused_index
    states = []
    tight, tightest = refused, math.inf
    for i, w in enumerate(windows):
        left, wait = remaining[i], resets[i] - now
        states.append(f'"{w.name}";r={left};t={math.ceil(wait) if wait > 0 else 0}')
        if refused < 0:
            share = left / w.limit if w.limit else 0
            if share < tightest or (share == tightest and resets[i] < resets[tight]):
                tight, tightest = i, share
    headers = {
        "RateLimit-Policy": decision.plan.policy_header,
        "RateLimit": ", ".join(states),
        "X-RateLimit-Limit": str(windows[tight].limit),
        "X-RateLimit-Remaining": str(remaining[tight]),
        "X-RateLimit-Reset": str(math.ceil(resets[tight])),
    }
    if refused >= 0:
        headers["Retry-After"] = str(decision.retry_after)
    return headers


def apply(response, decision) -> None:
    """Set the headers on an admitted request's response, straight into its header store:
    Django's per-header checks (charset, line breaks: ~9k instructions a header, 2 % of a
    metered request) guard against values these never are (see above). test_headers checks
    the result is what Django's own setting gives."""
    store = response.headers._store
    for name, value in build(decision).items():
        store[name.lower()] = (name, value)
