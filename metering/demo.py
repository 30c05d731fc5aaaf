"""Demo mode: keyless calls to a metered endpoint that allows them (`@metered(..., demo=True)`;
off for every endpoint but the reference one, POST /api/v1/analyze).

A keyless call on the public host is served in the demo workspace (TOLLGATE_DEMO_WORKSPACE,
`demo`): counted there (its usage stream, key id "demo") on windows of its own, never on the
demo workspace's plan nor any other workspace's limits:

- DEMO_QUOTA requests an hour per caller's address (IPv6: per /64, what one host is usually
  given, so a host can't step through its own addresses for more);
- DEMO_QUOTA_TOTAL an hour from every address together (0: none), which bounds what the demo
  can cost whatever the number of addresses.

Both windows are checked and counted in the one EVALSHA of check.lua, under the demo
workspace's hash tag (one Redis Cluster slot), with the plan cached per address: one round
trip and no SQL in steady state, as a keyed call. Refused: a 429 that says where to sign up
(the configured site URL, never the request's Host). Answers carry `X-Demo-Mode: true` and
the usual rate-limit headers. If Redis fails, demo calls are refused (503): the fail-open
spool is for paying workspaces' usage, not anonymous traffic.
"""

import functools
import ipaddress
from datetime import UTC, datetime
from http import HTTPStatus

import redis
from django.conf import settings
from django.urls import reverse

from core.cache import MISSING, LocalCache
from core.errors import DomainError
from metering import engine, headers, redis_keys, windows
from metering.errors import QUOTA_EXCEEDED_TYPE, MeteringUnavailable
from metering.pipeline.events import DEMO_KEY_ID
from tenants.models import Workspace
from tenants.selectors import workspace_cached, workspace_url

HEADER = "X-Demo-Mode"


class DemoUnavailable(DomainError):
    code = "authentication_required"
    status = HTTPStatus.UNAUTHORIZED
    title = "Authentication required"


class DemoQuotaExceeded(DomainError):
    code = "demo_quota_exceeded"
    status = HTTPStatus.TOO_MANY_REQUESTS
    title = "Demo quota exceeded"
    type_uri = QUOTA_EXCEEDED_TYPE


def address_bucket(address: str | None) -> str:
    """Whose demo quota a call counts in: the IPv4 address, or the IPv6 /64 (IPv4-mapped: the IPv4)."""
    try:
        ip = ipaddress.ip_address(address or "")
    except ValueError:
        return "unknown"
    if isinstance(ip, ipaddress.IPv6Address):
        if ip.ipv4_mapped:
            return str(ip.ipv4_mapped)
        return str(ipaddress.IPv6Network((ip, 64), strict=False).network_address) + "/64"
    return str(ip)


@functools.lru_cache(maxsize=4)
def _policy(quota: int, total: int, signup: str) -> dict:
    # one object per setting: plans are reused while `plan.policy is` this (engine.plan_for's rule)
    return {"plan": "demo", "upgrade": f"Sign up at {signup} for an API key of your own.", "meters": {},
            "quota": quota, "total": total, "signup": signup}


def signup_url() -> str:
    """The public site's signup page, from the configured site URL (never the request's Host)."""
    return workspace_url(None, reverse("signup", urlconf=settings.PUBLIC_SCHEMA_URLCONF))


def _windows(workspace_id: int, bucket: str, policy: dict, at: float) -> list[engine.Window]:
    start, end = windows.bounds("hour", at)
    out = [engine.Window("hour", "requests", "hour", "fixed", policy["quota"], True,
                         redis_keys.demo_quota(workspace_id, bucket, "requests", "hour", start), start, end,
                         policy_window=3600, source="demo")]
    if policy["total"]:
        out.append(engine.Window("demo-total-hour", "requests", "hour", "fixed", policy["total"], True,
                                 redis_keys.demo_quota(workspace_id, "all", "requests", "hour", start), start, end,
                                 policy_window=3600, source="demo"))
    return out


# Apart from the keyed plans (engine._plans): a flood of addresses never pushes a paying
# workspace's plan out of memory.
_plans = LocalCache("demo_plans", topics=lambda topic: None, max_entries=10_000, max_age=False)


def _plan(workspace_id: int, bucket: str, policy: dict, at: float) -> engine.Plan:
    cache_key = (workspace_id, bucket)
    plan = _plans.get(cache_key)
    if plan is MISSING or plan.policy is not policy or not plan.valid_from <= at < plan.valid_until:
        plan = _plans.put(cache_key, engine.pack_plan(workspace_id=workspace_id, policy=policy,
                                                      ws=_windows(workspace_id, bucket, policy, at),
                                                      marker=DEMO_KEY_ID, at=at))
    return plan


def demo_workspace() -> Workspace:
    """The workspace demo calls count in, from process memory. Raises DemoUnavailable when demo
    mode is off (DEMO_QUOTA 0) or the workspace does not exist or is suspended."""
    workspace = workspace_cached(slug=settings.DEMO_WORKSPACE) if settings.DEMO_QUOTA > 0 else None
    if workspace is None or not workspace.is_active:
        raise DemoUnavailable("Send your API key as `Authorization: Bearer <key>` or `X-API-Key: <key>`. "
                              "(Keyless demo calls are not offered here now.)",
                              headers={"WWW-Authenticate": 'Bearer realm="api"'})
    return workspace


def meter_demo_request(request, costs: dict[str, int]) -> engine.Decision:
    """Check and count a keyless call in its demo windows. Raises DemoUnavailable (401),
    DemoQuotaExceeded (429) or MeteringUnavailable (503, Redis failed)."""
    django_request = getattr(request, "_request", request)
    workspace = demo_workspace()
    django_request.workspace = workspace
    if "requests" not in costs:
        costs = {"requests": 1, **costs}  # a demo call is a request, whatever else it costs
    policy = _policy(settings.DEMO_QUOTA, settings.DEMO_QUOTA_TOTAL, signup_url())
    at = windows.now()
    plan = _plan(workspace.pk, address_bucket(django_request.META.get("REMOTE_ADDR")), policy, at)
    try:
        decision = engine.check_plan(plan, costs, workspace_id=workspace.pk, request_id=django_request.request_id,
                                     key_id=DEMO_KEY_ID, endpoint=django_request.path, at=at)
    except redis.RedisError:
        raise MeteringUnavailable("The demo is unavailable right now. Retry shortly, or use an API key.",
                                  headers={"Retry-After": "5", HEADER: "true"})
    # the request analytics after the response (metering/analytics/middleware.py), in the demo workspace
    django_request.usage_mark = (workspace.pk, DEMO_KEY_ID, django_request.path, decision.now, not decision.admitted)
    if not decision.admitted:
        raise _refusal(decision, policy)
    return decision


def _refusal(decision: engine.Decision, policy: dict) -> DemoQuotaExceeded:
    c = decision.refused
    assert c is not None  # a refused decision names its window
    reset = int(c.reset_at + 0.999)
    at = datetime.fromtimestamp(reset, tz=UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    if c.name == "hour":
        detail = f"Keyless demo calls are limited to {c.limit} an hour from your address."
    else:
        detail = f"The demo's {c.limit} keyless calls for this hour, from everyone, are used up."
    return DemoQuotaExceeded(
        f"{detail} It resets at {at}. Sign up at {policy['signup']} for an API key of your own and higher limits.",
        headers={**headers.build(decision), HEADER: "true"},
        **{"violated-policies": [c.name], "limit": c.limit, "reset": reset, "retry_after": decision.retry_after,
           "signup_url": policy["signup"]})
