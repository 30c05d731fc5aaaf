"""`@metered`: the one line a product view uses to declare what it consumes.

    class SummariseApi(APIView):
        @metered(requests=1, tokens=lambda request: count_tokens(request.data["text"]))
        def post(self, request): ...

        @metered(requests=1, tokens=from_response(lambda response: response.data["usage"]["tokens"]))
        def put(self, request): ...

`@metered(..., demo=True)` also serves keyless calls, in demo mode (metering/demo.py).

A cost is an int, a callable of the request, or `from_response(callable of the response)`.
Cost callables of the request run before metering, so one that rejects bad input (raising a
DomainError) keeps the request from being counted. Admitted: the view runs and its response
carries the rate-limit headers. Refused: a 429 problem with Retry-After; nothing is counted in
any window (all or nothing).

A cost read from the response needs the view to have run: then the view runs first, and the
request is checked and counted after it, still in one round trip and all or nothing. A refusal
then answers the 429 and drops the view's response, so what the view did is not billed. A
view whose work must not happen at all past a quota keeps its costs request-based.
"""

import logging
from functools import wraps
from typing import Any

from metering import engine, headers, windows
from metering.demo import HEADER as DEMO_HEADER
from metering.demo import meter_demo_request
from metering.errors import MeteringUnavailable, QuotaExceeded, RateLimited, SpendCapReached, refusal_error
from metering.metrics import RATE_LIMIT_EXCEEDED

logger = logging.getLogger(__name__)


class from_response:  # noqa: N801 - reads as a marker in the decorator's arguments
    """A cost read from the view's response: `tokens=from_response(lambda response: ...)`."""

    __slots__ = ("read",)

    def __init__(self, read) -> None:
        if not callable(read):
            raise TypeError("from_response(...) takes a callable of the response")
        self.read = read


def _units(meter: str, value) -> int:
    units = int(value)
    if units < 0:
        raise ValueError(f"@metered({meter}=...): the cost came out negative ({units})")
    return units


def metered(*, demo: bool = False, **costs):
    """`demo=True`: keyless calls are served too, in demo mode (metering/demo.py); off by default."""
    for meter, cost in costs.items():
        if not callable(cost) and not isinstance(cost, from_response) and (not isinstance(cost, int) or cost < 0):
            raise TypeError(f"@metered({meter}=...): a cost is a non-negative int, a callable of the request "
                            "or from_response(callable of the response)")
    computed = tuple(meter for meter, cost in costs.items() if callable(cost))
    after = tuple(meter for meter, cost in costs.items() if isinstance(cost, from_response))

    def decorator(handler):
        @wraps(handler)
        def wrapped(view, request, *args, **kwargs):
            # Demo mode only where the endpoint allows it and the permission let a keyless call in.
            keyless = demo and getattr(getattr(request, "_request", request), "demo_mode", False)
            check = meter_demo_request if keyless else meter_request
            resolved = dict(costs)
            for meter in computed:
                resolved[meter] = _units(meter, costs[meter](request))
            if after:
                response = handler(view, request, *args, **kwargs)
                for meter in after:
                    resolved[meter] = _units(meter, costs[meter].read(response))
                decision = check(request, resolved)
            else:
                decision = check(request, resolved)
                response = handler(view, request, *args, **kwargs)
            headers.apply(response, decision)
            if keyless:
                response[DEMO_HEADER] = "true"
            return response

        # For the OpenAPI document (core/openapi.py): the refusals, and the rate-limit headers
        marked: Any = wrapped
        marked.problems = (*getattr(handler, "problems", ()), RateLimited, QuotaExceeded, SpendCapReached,
                           MeteringUnavailable)
        marked.rate_limited = True
        # What apikeys.permissions.ScopePermission reads to let a call with no credentials in.
        marked.allows_demo = demo
        return wrapped

    return decorator


def meter_request(request, costs: dict[str, int]):
    """Run the metering check for an authenticated request. Raises QuotaExceeded or MeteringUnavailable."""
    django_request = getattr(request, "_request", request)
    workspace = django_request.workspace
    key = getattr(django_request, "api_key", None)
    # A member calling with their dashboard session has no key: the burst window is theirs
    # (engine.build_windows), or a session would be a way around the plan's burst.
    user_id = getattr(getattr(request, "user", None), "pk", None) if key is None else None
    key_id = key.key_id if key is not None else ""
    try:
        decision = engine.check(workspace=workspace, costs=costs, request_id=django_request.request_id, key=key,
                                endpoint=django_request.path, user_id=user_id)
    except engine.MeteringUnavailable:
        django_request.usage_mark = (workspace.pk, key_id, django_request.path, windows.now(), False)
        raise MeteringUnavailable("Usage metering is unavailable, so this request can't be served now. Retry shortly.",
                                  headers={"Retry-After": "5"})
    # For the analytics after the response (metering/analytics/middleware.py): status and
    # latency are known only then; a refusal is its own class, whatever its status.
    django_request.usage_mark = (workspace.pk, key_id, django_request.path, decision.now, not decision.admitted)
    if decision.crossings or not decision.admitted:
        _after(workspace, key, decision)
    if not decision.admitted:
        raise refusal_error(decision, headers.build(decision))
    return decision


def _after(workspace, key, decision) -> None:
    """Rare events (a refusal, a quota crossing 80 %/100 %): metrics now, audit and email in Celery."""
    from metering import tasks

    try:
        if not decision.admitted:
            RATE_LIMIT_EXCEEDED.labels(plan=decision.policy.get("plan", ""), window=decision.refused.name).inc()
            if decision.first_refusal:
                c = decision.refused
                tasks.record_refusal.apply_async(
                    kwargs={"workspace_id": workspace.pk, "key_id": key.key_id if key else "", "meter": c.meter,
                            "window": c.window, "limit": c.limit, "reset": int(c.reset_at)}, retry=False)
        for c, percent in decision.crossings:
            if c.reason:  # a window set for a reason (a spend cap) is alerted by whoever set it
                continue
            tasks.quota_alert.apply_async(
                kwargs={"workspace_id": workspace.pk, "meter": c.meter, "window": c.window, "limit": c.limit,
                        "used": c.used, "percent": percent, "reset": int(c.reset_at)}, retry=False)
    except Exception:
        logger.exception("could not queue metering follow-up for workspace %s", workspace.slug)
