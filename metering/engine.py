"""The metering check: one EVALSHA per request checks and counts every window of every
meter, and appends the usage event, all or nothing (metering/lua/check.lua).

When Redis is unreachable, METERING_FAIL_MODE decides: "open" (default) keeps serving
with an in-process limiter and spools the usage to PostgreSQL for replay, so nothing
is lost; "closed" refuses with 503 metering_unavailable.
"""

import hashlib
import logging
import threading
from dataclasses import dataclass, field
from pathlib import Path

import redis
from django.conf import settings

from metering import windows
from metering.policy import policy_for
from tenants.redis import get_redis

logger = logging.getLogger(__name__)

_SCRIPT_SOURCE = (Path(__file__).parent / "lua" / "check.lua").read_text()
_SCRIPT_SHA = hashlib.sha1(_SCRIPT_SOURCE.encode()).hexdigest()  # noqa: S324 - Redis names scripts by SHA-1
REFUSALS_TTL = 40 * 86400


def _evalsha(keys: list, args: list):
    """EVALSHA on a pooled connection of the process's client, loading the script if needed.

    The hot path's one round trip. It talks to redis-py's pooled connection directly:
    the client's execute_command wrapper (retry callbacks, observability hooks) costs
    ~40 us a call here, a third of the whole metering overhead (bench/README.md).
    Same semantics as the client's Retry(NoBackoff(), 1): a broken pooled connection
    is replaced and the call retried once; a second failure raises (fail open/closed).
    """
    pool = get_redis().connection_pool
    for attempt in (0, 1):
        conn = pool.get_connection()
        try:
            try:
                conn.send_command("EVALSHA", _SCRIPT_SHA, len(keys), *keys, *args)
                return conn.read_response()
            except redis.exceptions.NoScriptError:
                conn.send_command("SCRIPT", "LOAD", _SCRIPT_SOURCE)
                conn.read_response()
                conn.send_command("EVALSHA", _SCRIPT_SHA, len(keys), *keys, *args)
                return conn.read_response()
        except (redis.ConnectionError, redis.TimeoutError):
            conn.disconnect()
            if attempt:
                raise
        finally:
            pool.release(conn)
    raise AssertionError("unreachable")


@dataclass(slots=True)
class Check:
    name: str  # stable name in the RateLimit headers: "burst", "hour", "tokens-day", ...
    meter: str
    window: str  # "burst", "hour", "day", "month", "credits"
    kind: str  # gcra | fixed | credits
    limit: int
    cost: int
    hard: bool
    key: str
    reset_at: float  # epoch seconds (gcra: unused until computed)
    window_ms: int
    extra_key: str | None = None
    # filled in after the call
    used: int = 0
    remaining: int = 0
    topup: int = 0

    @property
    def policy_window(self) -> int | None:
        if self.kind == "gcra":
            return self.window_ms // 1000
        return windows.fixed_size(self.window) if self.window in ("hour", "day") else None


@dataclass
class Decision:
    admitted: bool
    checks: list[Check]
    now: float
    policy: dict = field(default_factory=dict)
    refused: Check | None = None
    retry_after: int = 0
    first_refusal: bool = False
    degraded: bool = False
    crossings: list[tuple[Check, int]] = field(default_factory=list)


def tag(workspace_id: int) -> str:
    """The hash tag every key of a workspace shares (Cluster: one slot per workspace)."""
    return f"{{ws:{workspace_id}}}"


def refusals_key(workspace_id: int, at: float) -> str:
    """Refusal counts (and first-refusal markers) of a workspace for the calendar month."""
    return f"{tag(workspace_id)}:refusals:{windows.bounds('month', at)[0]}"


def build_checks(*, workspace_id: int, policy: dict, costs: dict[str, int], key_id: str,
                 key_burst: tuple[int, int] | None, at: float) -> list[Check]:
    t = tag(workspace_id)
    checks: list[Check] = []
    burst = key_burst or ((policy["burst"]["limit"], policy["burst"]["window"]) if policy.get("burst") else None)
    if burst and key_id:
        limit, window = burst
        checks.append(Check("burst", "requests", "burst", "gcra", limit, 1, True, f"{t}:burst:{key_id}",
                            at + window, window * 1000))
    for meter, cost in costs.items():
        spec = policy.get("meters", {}).get(meter, {})
        for window in windows.WINDOWS_ORDER:
            if window not in spec:
                continue
            if window == "credits":
                start, end = windows.bounds("month", at)
                name = f"{meter}-credits"
                checks.append(Check(name, meter, "credits", "credits", spec["credits"], cost, True,
                                    f"{t}:cr:{meter}:{start}", end, int((end - at) * 1000),
                                    extra_key=f"{t}:topup:{meter}"))
                continue
            start, end = windows.bounds(window, at)
            name = window if meter == "requests" else f"{meter}-{window}"
            checks.append(Check(name, meter, window, "fixed", spec[window]["limit"], cost, spec[window]["hard"],
                                f"{t}:q:{meter}:{window}:{start}", end, max(1, int((end - at) * 1000))))
    return checks


def _event_fields(*, request_id: str, key_id: str, endpoint: str, costs: dict[str, int], at: float) -> str:
    meters = ";".join(f"{m}={u}" for m, u in costs.items())
    parts = ["rid", request_id, "key", key_id or "-", "ep", endpoint or "-", "m", meters or "-",
             "st", "admitted", "ts", str(int(at * 1000))]
    return "\t".join(p.replace("\t", " ") for p in parts)


def check(*, workspace, costs: dict[str, int], request_id: str, key=None, endpoint: str = "") -> Decision:
    """Admit and count the request in every window, or refuse it and count nothing."""
    at = windows.now()
    policy = policy_for(workspace)
    key_id = key.key_id if key is not None else ""
    key_burst = (key.burst_limit, key.burst_window) if key is not None and key.burst_limit else None
    checks = build_checks(workspace_id=workspace.pk, policy=policy, costs=costs, key_id=key_id,
                          key_burst=key_burst, at=at)
    fields = _event_fields(request_id=request_id, key_id=key_id, endpoint=endpoint, costs=costs, at=at)
    t = tag(workspace.pk)
    keys = [f"{t}:usage", refusals_key(workspace.pk, at)] + [c.key for c in checks]
    args: list = [int(at * 1000), len(checks), fields, REFUSALS_TTL]
    for c in checks:
        extra_index = 0
        if c.extra_key:
            keys.append(c.extra_key)
            extra_index = len(keys)
        args += [c.kind, c.limit, c.cost, c.window_ms, "1" if c.hard else "0", extra_index,
                 f"mark:{key_id or '-'}:{c.name}:{int(c.reset_at)}", f"{c.meter}:{c.window}"]
    try:
        result = _evalsha(keys, args)
    except (redis.ConnectionError, redis.TimeoutError) as exc:
        decision = _degraded(exc, workspace=workspace, checks=checks, costs=costs, request_id=request_id,
                             key_id=key_id, endpoint=endpoint, at=at)
    else:
        decision = _decide(result, checks, at)
    decision.policy = policy
    return decision


def _decide(result: list, checks: list[Check], at: float) -> Decision:
    admitted, refused_index, retry_ms, first = (int(x) for x in result[:4])
    if not admitted:
        refused = checks[refused_index - 1]
        for i, c in enumerate(checks):
            used, _, _, extra = (int(x) for x in result[4 + i * 4: 8 + i * 4])
            c.used, c.topup = used, extra
            c.remaining = max(0, c.limit - used) + (max(0, extra) if c.kind == "credits" else 0)
            if c.kind == "gcra":
                c.reset_at = at + c.window_ms / 1000 * (c.used / c.limit)
        refused.remaining = 0
        if refused.kind == "gcra":
            refused.reset_at = at + retry_ms / 1000
        return Decision(False, checks, at, refused=refused, retry_after=max(1, -(-retry_ms // 1000)),
                        first_refusal=bool(first))
    decision = Decision(True, checks, at)
    for i, c in enumerate(checks):
        used, c80, c100, extra = (int(x) for x in result[4 + i * 4: 8 + i * 4])
        if c.kind == "gcra":
            c.remaining = max(0, used)
            c.used = c.limit - c.remaining
            c.reset_at = at + c.window_ms / 1000 * (c.used / c.limit)
        elif c.kind == "credits":
            c.used, c.topup = used, extra
            c.remaining = max(0, c.limit - used) + max(0, extra)
        else:
            c.used = used
            c.remaining = max(0, c.limit - used)
        if c100:
            decision.crossings.append((c, 100))
        elif c80:
            decision.crossings.append((c, 80))
    return decision


# ---- Redis unreachable ---------------------------------------------------------------

class MeteringUnavailable(Exception):
    pass


_local_lock = threading.Lock()
_local: dict[str, float] = {}


def _degraded(exc, *, workspace, checks, costs, request_id, key_id, endpoint, at) -> Decision:
    from tenants.metrics import METERING_FAIL_OPEN

    if settings.METERING_FAIL_MODE == "closed":
        raise MeteringUnavailable(str(exc)) from exc
    METERING_FAIL_OPEN.inc()
    logger.warning("Redis unreachable, metering fails open for workspace %s", workspace.slug)
    # An in-process limiter with the same limits: per process, so the fleet may admit
    # up to workers x limit while Redis is away; the spool keeps every admitted event.
    with _local_lock:
        for c in checks:
            if c.kind == "gcra":
                continue
            used = _local.get(c.key, 0)
            if c.hard and c.kind == "fixed" and used + c.cost > c.limit:
                c.remaining = 0
                return Decision(False, checks, at, refused=c, retry_after=max(1, int(c.reset_at - at)), degraded=True)
        for c in checks:
            if c.kind != "gcra":
                _local[c.key] = _local.get(c.key, 0) + c.cost
                c.used = int(_local[c.key])
                c.remaining = max(0, c.limit - c.used)
            else:
                c.remaining = c.limit - 1
    from metering.services import spool_event

    spool_event(workspace_id=workspace.pk, request_id=request_id, key_id=key_id, endpoint=endpoint, costs=costs,
                at=at, counters=[{"key": c.key, "kind": c.kind, "cost": c.cost, "window_ms": c.window_ms,
                                  "limit": c.limit, "extra_key": c.extra_key} for c in checks if c.kind != "gcra"])
    return Decision(True, checks, at, degraded=True)


def reset_local() -> None:
    with _local_lock:
        _local.clear()
