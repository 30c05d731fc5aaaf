"""`@metered`: the one line a product view uses to declare what it consumes.

    class SummariseApi(APIView):
        @metered(requests=1, tokens=lambda request: count_tokens(request.data["text"]))
        def post(self, request): ...

A cost is an int or a callable of the request. Cost callables run before metering, so
one that rejects bad input (raising a DomainError) keeps the request from being counted.
Admitted: the view runs and its response carries the rate-limit headers. Refused: a
429 problem with Retry-After; nothing is counted in any window (all or nothing).
"""

import logging
from functools import wraps

from metering import engine, headers
from metering.errors import MeteringUnavailable, refusal_error

logger = logging.getLogger(__name__)


def metered(**costs):
    for meter, cost in costs.items():
        if not callable(cost) and (not isinstance(cost, int) or cost < 0):
            raise TypeError(f"@metered({meter}=...): a cost is a non-negative int or a callable of the request")
    computed = tuple(meter for meter, cost in costs.items() if callable(cost))

    def decorator(handler):
        @wraps(handler)
        def wrapped(view, request, *args, **kwargs):
            resolved = dict(costs)
            for meter in computed:
                resolved[meter] = int(costs[meter](request))
            decision = meter_request(request, resolved)
            response = handler(view, request, *args, **kwargs)
            headers.apply(response, decision)
            return response

        return wrapped

    return decorator


def meter_request(request, costs: dict[str, int]):
    """Run the metering check for an authenticated request. Raises QuotaExceeded or MeteringUnavailable."""
    django_request = getattr(request, "_request", request)
    workspace = django_request.workspace
    key = getattr(django_request, "api_key", None)
    try:
        decision = engine.check(workspace=workspace, costs=costs, request_id=django_request.request_id, key=key,
                                endpoint=django_request.path)
    except engine.MeteringUnavailable:
        raise MeteringUnavailable("Usage metering is unavailable, so this request can't be served now. Retry shortly.",
                                  headers={"Retry-After": "5"})
    if decision.crossings or not decision.admitted:
        _after(workspace, key, decision)
    if not decision.admitted:
        raise refusal_error(decision, headers.build(decision))
    return decision


def _after(workspace, key, decision) -> None:
    """Rare events (a refusal, a quota crossing 80 %/100 %): metrics now, audit and email in Celery."""
    from metering import tasks
    from tenants.metrics import RATE_LIMIT_EXCEEDED

    try:
        if not decision.admitted:
            RATE_LIMIT_EXCEEDED.labels(plan=decision.policy.get("plan", ""), window=decision.refused.name).inc()
            if decision.first_refusal:
                c = decision.refused
                tasks.record_refusal.apply_async(
                    kwargs={"workspace_id": workspace.pk, "key_id": key.key_id if key else "", "meter": c.meter,
                            "window": c.window, "limit": c.limit, "reset": int(c.reset_at)}, retry=False)
        for c, percent in decision.crossings:
            tasks.quota_alert.apply_async(
                kwargs={"workspace_id": workspace.pk, "meter": c.meter, "window": c.window, "limit": c.limit,
                        "used": c.used, "percent": percent, "reset": int(c.reset_at)}, retry=False)
    except Exception:
        logger.exception("could not queue metering follow-up for workspace %s", workspace.slug)
