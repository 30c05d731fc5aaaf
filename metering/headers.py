"""Rate-limit headers: GitHub-style X-RateLimit-* for the tightest window, and the IETF pair
(draft-ietf-httpapi-ratelimit-headers) for every window, names stable across responses.

RateLimit-Policy is the same for every request of a plan, so the Plan carries it ready-made;
only the state (RateLimit, X-RateLimit-*) is written per request.

Every value is ASCII without line breaks by construction: numbers, and window names made of
meter names that metering.policy.validate holds to ASCII letters, digits and underscores.
"""

from math import ceil, inf

# (name as Django's header store keys it, name as sent), in the order the values are built
NAMES = (("ratelimit-policy", "RateLimit-Policy"), ("ratelimit", "RateLimit"), ("x-ratelimit-limit", "X-RateLimit-Limit"),
         ("x-ratelimit-remaining", "X-RateLimit-Remaining"), ("x-ratelimit-reset", "X-RateLimit-Reset"),
         ("retry-after", "Retry-After"))


def _values(decision) -> tuple[str, ...]:
    """The value of each of NAMES (Retry-After only for a refusal); () without windows."""
    plan = decision.plan
    if not plan.windows:
        return ()
    now, remaining, resets, refused = decision.now, decision.remaining, decision.resets, decision.refused_index
    states = []
    tight, tightest = refused, inf
    for i, (name, w, left, reset) in enumerate(zip(plan.state_names, plan.windows, remaining, resets, strict=True)):
        wait = reset - now
        states.append(f"{name}{left};t={ceil(wait) if wait > 0 else 0}")
        if refused < 0:
            share = left / w.limit if w.limit else 0
            if share < tightest or (share == tightest and reset < resets[tight]):
                tight, tightest = i, share
    values = (plan.policy_header, ", ".join(states), str(plan.windows[tight].limit), str(remaining[tight]),
              str(ceil(resets[tight])))
    return values + (str(decision.retry_after),) if refused >= 0 else values


def build(decision) -> dict[str, str]:
    return {name: value for (_, name), value in zip(NAMES, _values(decision), strict=False)}  # Retry-After: refusals only


def apply(response, decision) -> None:
    """Set the headers on an admitted request's response, straight into its header store:
    Django's per-header checks (charset, line breaks: ~9k instructions a header, 2 % of a
    metered request) guard against values these never are (see above). test_headers checks
    the result is what Django's own setting gives."""
    store = response.headers._store
    for (lower, name), value in zip(NAMES, _values(decision), strict=False):
        store[lower] = (name, value)
