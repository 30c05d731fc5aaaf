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

import msgpack
import redis
from django.conf import settings

from apikeys.services import burst_allowance
from core import hot_settings
from core.cache import MISSING, LocalCache
from core.redis import execute, execute_routed, may_have_run, send_packed, send_packed_routed
from metering import layout, redis_keys, windows
from metering.metrics import METERING_FAIL_OPEN
from metering.pipeline import events
from metering.pipeline.spool import spool_event
from metering.policy import policy_for

logger = logging.getLogger(__name__)

_SCRIPT_TEMPLATE = (Path(__file__).parent / "lua" / "check.lua").read_text()
_SCRIPT_SOURCE = ""
_SCRIPT_SHA = ""
REFUSALS_TTL = 40 * 86400


def _evalsha(command: bytes, workspace_id: int):
    """The packed EVALSHA on this thread's own Redis connection (core.redis), loading
    the script when the server doesn't know it yet (a restart, a flush). On a Redis Cluster
    it goes to the node of the workspace's slot: every key it names carries the workspace's
    hash tag (redis_keys.tag)."""
    if hot_settings.get("REDIS_CLUSTER"):  # not settings.X: ~4k instructions a read (core/hot_settings.py)
        route = redis_keys.tag(workspace_id)
        try:
            return send_packed_routed(command, route)
        except redis.exceptions.NoScriptError:
            execute_routed(route, "SCRIPT", "LOAD", _SCRIPT_SOURCE)
            return send_packed_routed(command, route)
    try:
        return send_packed(command)
    except redis.exceptions.NoScriptError:
        execute("SCRIPT", "LOAD", _SCRIPT_SOURCE)
        return send_packed(command)


@dataclass(frozen=True, slots=True)
class Window:
    """One limit a request is checked against: fixed for a workspace, key and policy until
    the window ends, so it is built once and reused (see `plan_for`)."""

    name: str  # stable name in the RateLimit headers: "burst", "hour", "tokens-day", ...
    meter: str
    window: str  # "burst", "hour", "day", "month", "credits"
    kind: str  # gcra | fixed | credits
    limit: int
    hard: bool
    key: str
    start: int  # fixed/credits: epoch seconds the window began; gcra: 0 (it slides)
    end: int  # fixed/credits: epoch seconds the window ends; gcra: 0
    burst_ms: int = 0  # gcra: the burst window
    extra_key: str | None = None  # credits: the top-up balance
    policy_window: int | None = None  # the IETF `w` parameter, when the window has a fixed length
    source: str = ""  # gcra: whose burst it is, "key" (the key's own), "plan" or "session" (the plan's)
    reason: str = ""  # fixed: why the window exists besides the plan ("spend_cap"; metering.policy)
    note: str = ""  # what a refusal by it tells the caller


@dataclass(slots=True)
class Check:
    """A window and where one request left it (what tests, refusals and /limits read). The
    window's own fields (name, meter, window, kind, limit, hard, key, ...) read through."""

    spec: Window
    reset_at: float  # epoch seconds
    window_ms: int  # gcra: the burst window; fixed/credits: ms until the window resets
    used: int = 0
    remaining: int = 0
    topup: int = 0

    def __getattr__(self, name: str):
        if name == "spec":  # not set yet (copy, pickle): no recursion
            raise AttributeError(name)
        return getattr(self.spec, name)


@dataclass(frozen=True, slots=True)
class Plan:
    """Everything about a metered call that doesn't change from one request to the next:
    the windows, the packed head of the EVALSHA and the RateLimit-Policy header."""

    policy: dict
    windows: tuple[Window, ...]
    meters: tuple[str, ...]  # the meter of each window, to pick its cost
    valid_from: float
    valid_until: float  # the first window end (or month end: the refusals hash) after which keys change
    head: bytes  # the packed EVALSHA (RESP) up to its arguments
    windows_packed: bytes  # check.lua's ARGV[1] begins with this (MessagePack) ...
    refusal_packed: bytes  # ... and ends with this, the request's numbers between them
    policy_header: str
    state_names: tuple[str, ...] = ()  # per window, the start of its RateLimit state: '"hour";r='


@dataclass(slots=True)
class Decision:
    admitted: bool
    plan: Plan
    now: float
    remaining: list[int]
    resets: list[float]  # epoch seconds, per window
    used: list[int] = field(default_factory=list)
    topups: list[int] = field(default_factory=list)
    refused_index: int = -1
    retry_after: int = 0
    first_refusal: bool = False
    degraded: bool = False
    crossing_flags: int = 0  # bit 2i: window i crossed 80 %, bit 2i+1: 100 %
    _checks: list[Check] | None = None

    @property
    def policy(self) -> dict:
        return self.plan.policy

    @property
    def checks(self) -> list[Check]:
        if self._checks is None:
            at = self.now
            self._checks = [
                Check(w, self.resets[i], w.burst_ms if w.kind == "gcra" else max(1, int((w.end - at) * 1000)),
                      self.used[i] if self.used else 0, self.remaining[i], self.topups[i] if self.topups else 0)
                for i, w in enumerate(self.plan.windows)]
        return self._checks

    @property
    def refused(self) -> Check | None:
        return self.checks[self.refused_index] if self.refused_index >= 0 else None

    @property
    def crossings(self) -> list[tuple[Check, int]]:
        flags, out = self.crossing_flags, []
        for i in range(len(self.plan.windows)) if flags else ():
            if flags >> (2 * i + 1) & 1:
                out.append((self.checks[i], 100))
            elif flags >> (2 * i) & 1:
                out.append((self.checks[i], 80))
        return out


def effective_burst(policy: dict, key_burst: tuple[int, int] | None) -> tuple[int, int, str] | None:
    """(limit, window seconds, source) of a key's burst window: the key's own limit while it is
    within the plan's burst, else the plan's. A key made before its plan was lowered gets no more
    than the plan allows now; the service refuses a key burst above the plan when it is set
    (apikeys.services), so this is the other half: worked out once per plan build (plan_for)."""
    plan = (policy["burst"]["limit"], policy["burst"]["window"]) if policy.get("burst") else None
    if key_burst is not None and (plan is None or key_burst[0] <= burst_allowance(*plan, key_window=key_burst[1])):
        return key_burst[0], key_burst[1], "key"
    return (*plan, "plan") if plan is not None else None


def build_windows(*, workspace_id: int, policy: dict, meters, key_id: str,
                  key_burst: tuple[int, int] | None, at: float, user_id: int | None = None) -> list[Window]:
    """The windows a request consuming `meters` is checked against at `at`, in header order.

    A key's burst window is its own (see `effective_burst`); a dashboard session's (no key,
    `user_id` set) is the plan's, per member, so a session is no way around the burst."""
    ws = workspace_id
    out: list[Window] = []
    if key_id:
        burst, subject = effective_burst(policy, key_burst), key_id
    elif user_id is not None:
        burst, subject = effective_burst(policy, None), f"user:{user_id}"
        burst = (*burst[:2], "session") if burst else None
    else:
        burst = None
    if burst:
        limit, seconds, source = burst
        out.append(Window("burst", "requests", "burst", "gcra", limit, True, redis_keys.burst(ws, subject), 0, 0,
                          burst_ms=seconds * 1000, policy_window=seconds, source=source))
    for meter in meters:
        spec = policy.get("meters", {}).get(meter, {})
        for window in windows.WINDOWS_ORDER:
            if window not in spec:
                continue
            if window == "credits":
                start, end = windows.bounds("month", at)
                out.append(Window(f"{meter}-credits", meter, "credits", "credits", spec["credits"], True,
                                  redis_keys.credits(ws, meter, start), start, end,
                                  extra_key=redis_keys.topup(ws, meter)))
                continue
            start, end = windows.bounds(window, at)
            name = window if meter == "requests" else f"{meter}-{window}"
            out.append(Window(name, meter, window, "fixed", spec[window]["limit"], spec[window]["hard"],
                              redis_keys.quota(ws, meter, window, start), start, end,
                              policy_window=windows.fixed_size(window), reason=spec[window].get("reason", ""),
                              note=spec[window].get("note", "")))
    return out


# Where _decide reads the reply (metering/layout.py), set by load_layout.
_ADMITTED = _REFUSED = _RETRY_MS = _FLAGS = _VALUES = _EXTRAS = _STEP = 0


def load_layout() -> None:
    """Build what follows from metering/layout.py: the script rendered from check.lua, its SHA,
    and where the reply's fields are. Run at import; tests run it again on a shuffled layout."""
    global _SCRIPT_SOURCE, _SCRIPT_SHA, _ADMITTED, _REFUSED, _RETRY_MS, _FLAGS, _VALUES, _EXTRAS, _STEP
    _SCRIPT_SOURCE = layout.render_script(_SCRIPT_TEMPLATE)
    _SCRIPT_SHA = hashlib.sha1(_SCRIPT_SOURCE.encode()).hexdigest()  # noqa: S324 - Redis names scripts by SHA-1
    _ADMITTED, _REFUSED = layout.reply_offset("admitted"), layout.reply_offset("refused")
    _RETRY_MS, _FLAGS = layout.reply_offset("retry_ms"), layout.reply_offset("flags")
    _VALUES, _EXTRAS = layout.reply_window_start("value"), layout.reply_window_start("extra")
    _STEP = len(layout.REPLY_WINDOW)
    _plans.clear()


def _bulk(value) -> bytes:
    data = value if isinstance(value, bytes) else str(value).encode()
    return b"$%d\r\n%b\r\n" % (len(data), data)


def _make_plan(*, workspace_id: int, policy: dict, meters: tuple, key_id: str,
               key_burst: tuple[int, int] | None, at: float, user_id: int | None = None) -> Plan:
    ws = build_windows(workspace_id=workspace_id, policy=policy, meters=meters, key_id=key_id,
                       key_burst=key_burst, at=at, user_id=user_id)
    marker = key_id or (f"user:{user_id}" if user_id is not None else "-")
    return pack_plan(workspace_id=workspace_id, policy=policy, ws=ws, marker=marker, at=at)


def pack_plan(*, workspace_id: int, policy: dict, ws: list[Window], marker: str, at: float) -> Plan:
    """The Plan checking `ws` in the workspace's usage stream and refusals hash at `at`; `marker`
    names whose refusals these are (a key id, "user:<id>", "demo") in that hash."""
    month_start, month_end = windows.bounds("month", at)  # the refusals hash's window
    keys = [redis_keys.usage_stream(workspace_id), redis_keys.refusals(workspace_id, at)] + [w.key for w in ws]
    head_fields = {"count": len(ws), "refusals_ttl": REFUSALS_TTL}
    static: list = [head_fields[name] for name in layout.HEAD]
    refusal: list = []
    for w in ws:
        extra_index = 0
        if w.extra_key:
            keys.append(w.extra_key)
            extra_index = len(keys)
        static += layout.pack_window(
            kind=layout.KINDS[w.kind], limit=w.limit, hard=1 if w.hard else 0,
            span=w.burst_ms if w.kind == "gcra" else w.end * 1000,
            extra=str(w.burst_ms + 1000) if w.kind == "gcra" else extra_index)
        refusal += [f"mark:{marker}:{w.name}:" + ("" if w.kind == "gcra" else str(w.end)),
                    f"{w.meter}:{w.window}"]
    # The windows' numbers and the strings a refusal records are packed here, once; each
    # request packs its own numbers between them (check.lua decodes the strings only on a
    # refusal: each string decoded costs Redis ~0.5k instructions) (bench/README.md).
    head = [b"EVALSHA", _SCRIPT_SHA, len(keys), *keys]
    policy_header = ", ".join(f'"{w.name}";q={w.limit}' + (f";w={w.policy_window}" if w.policy_window else "")
                              for w in ws)
    argc = len(head) + 2  # + per request: the MessagePack argument, the usage event
    return Plan(policy, tuple(ws), tuple(w.meter for w in ws), float(max([month_start] + [w.start for w in ws])),
                float(min([month_end] + [w.end for w in ws if w.end])),
                b"*%d\r\n" % argc + b"".join(_bulk(v) for v in head), msgpack.packb(static), msgpack.packb(refusal),
                policy_header, tuple(f'"{w.name}";r=' for w in ws))


# Plans carry their own validity (policy identity, window ends): no max age, no invalidation topic.
_plans = LocalCache("plans", topics=lambda topic: None, max_entries=10_000, max_age=False)
load_layout()


def plan_for(*, workspace_id: int, policy: dict, meters: tuple, key_id: str,
             key_burst: tuple[int, int] | None, at: float, user_id: int | None = None) -> Plan:
    """The plan for this workspace, policy, key (or session user) and meters at `at`, from
    process memory until its first window ends or the policy changes."""
    cache_key = (workspace_id, key_id, key_burst, meters, user_id)
    plan = _plans.get(cache_key)
    if plan is MISSING or plan.policy is not policy or not plan.valid_from <= at < plan.valid_until:
        plan = _plans.put(cache_key, _make_plan(workspace_id=workspace_id, policy=policy, meters=meters, key_id=key_id,
                                                key_burst=key_burst, at=at, user_id=user_id))
    return plan


def check(*, workspace, costs: dict[str, int], request_id: str, key=None, endpoint: str = "",
          user_id: int | None = None) -> Decision:
    """Admit and count the request in every window, or refuse it and count nothing. `key` is the
    calling key; `user_id` the member behind a dashboard session (no key): their burst window."""
    at = windows.now()
    policy = policy_for(workspace)
    if key is not None:
        key_id, key_burst = key.key_id, (key.burst_limit, key.burst_window) if key.burst_limit else None
    else:
        key_id, key_burst = "", None
    plan = plan_for(workspace_id=workspace.pk, policy=policy, meters=tuple(costs), key_id=key_id,
                    key_burst=key_burst, at=at, user_id=user_id)
    now_ms = int(at * 1000)
    try:
        result = _evalsha(command(plan, costs, events.pack(request_id, key_id, costs, now_ms, endpoint), now_ms),
                          workspace.pk)
    except redis.RedisError as exc:
        # Every Redis failure, not only a dead server: LOADING while it restarts from its
        # AOF, READONLY after a failover, a reset or a timeout mid-reply, any error reply
        # (issue 18, finding 11: a LOADING reply once came back as a value and gave a 500).
        return _degraded(exc, workspace=workspace, plan=plan, costs=costs, request_id=request_id,
                         key_id=key_id, endpoint=endpoint, at=at)
    return _decide(result, plan, at)


def check_plan(plan: Plan, costs: dict[str, int], *, workspace_id: int, request_id: str, key_id: str,
               endpoint: str, at: float) -> Decision:
    """One EVALSHA for `plan` (whose keys are all `workspace_id`'s) at `at`, as `check` makes it,
    for a caller with a plan of its own (metering.demo). Raises redis.RedisError: the caller
    decides what a Redis failure means."""
    now_ms = int(at * 1000)
    return _decide(_evalsha(command(plan, costs, events.pack(request_id, key_id, costs, now_ms, endpoint), now_ms),
                            workspace_id), plan, at)


def command(plan: Plan, costs: dict[str, int], event: bytes, now_ms: int) -> bytes:
    """The EVALSHA in RESP: the plan's head, then ARGV[1], the windows' numbers, the request's
    (each window's cost and the time, epoch ms, then the costs again as strings: one
    MessagePack array, so numbers arrive in the script as numbers) and the refusal strings;
    ARGV[2], the usage event."""
    units = [costs[m] for m in plan.meters]
    numbers = msgpack.packb([*units, now_ms, *map(str, units)])
    a, b = plan.windows_packed, plan.refusal_packed
    return b"%b$%d\r\n%b%b%b\r\n$%d\r\n%b\r\n" % (plan.head, len(a) + len(numbers) + len(b), a, numbers, b,
                                                       len(event), event)


def _decide(result: list, plan: Plan, at: float) -> Decision:
    """The script's reply, {admitted, refused, retry_ms, flags, then per window: value, extra},
    as a Decision."""
    admitted = result[_ADMITTED]
    remaining: list[int] = []
    resets: list[float] = []
    used: list[int] = []
    topups = result[_EXTRAS::_STEP]
    for w, value, extra in zip(plan.windows, result[_VALUES::_STEP], topups, strict=True):
        kind, limit = w.kind, w.limit
        if kind == "fixed":
            used.append(value)
            remaining.append(limit - value if value < limit else 0)
            resets.append(w.end)
        elif kind == "gcra":
            # admitted: the burst capacity left; refused: the capacity in use
            in_use = limit - value if admitted else value
            left, reset = windows.burst_state(limit=limit, burst_ms=w.burst_ms, in_use=in_use, at=at)
            used.append(in_use)
            remaining.append(left)
            resets.append(reset)
        else:  # credits: what is left of the allowance, then the top-up balance
            used.append(value)
            remaining.append((limit - value if value < limit else 0) + (extra if extra > 0 else 0))
            resets.append(w.end)
    if admitted:
        return Decision(True, plan, at, remaining, resets, used, topups, crossing_flags=result[_FLAGS])
    index, retry_ms = result[_REFUSED] - 1, result[_RETRY_MS]
    remaining[index] = 0
    if plan.windows[index].kind == "gcra":
        resets[index] = at + retry_ms / 1000
    return Decision(False, plan, at, remaining, resets, used, topups, refused_index=index,
                    retry_after=max(1, -(-retry_ms // 1000)), first_refusal=bool(result[_FLAGS]))


# ---- Redis unreachable ---------------------------------------------------------------

class MeteringUnavailable(Exception):
    pass


_local_lock = threading.Lock()
_local: dict[str, float] = {}


def _degraded(exc, *, workspace, plan: Plan, costs, request_id, key_id, endpoint, at) -> Decision:
    if settings.METERING_FAIL_MODE == "closed":
        logger.warning("Redis failed (%s: %s), metering fails closed for workspace %s",
                       type(exc).__name__, exc, workspace.slug)
        raise MeteringUnavailable(str(exc)) from exc
    METERING_FAIL_OPEN.inc()
    logger.warning("Redis failed (%s: %s), metering fails open for workspace %s",
                   type(exc).__name__, exc, workspace.slug)
    # An in-process limiter with the same limits: per process, so the fleet may admit
    # up to workers x limit while Redis is away; the spool keeps every admitted event.
    ws = plan.windows
    resets = [at + w.burst_ms / 1000 if w.kind == "gcra" else float(w.end) for w in ws]
    with _local_lock:
        for i, w in enumerate(ws):
            if w.hard and w.kind == "fixed" and _local.get(w.key, 0) + costs[w.meter] > w.limit:
                remaining = [max(0, w.limit - int(_local.get(x.key, 0))) if x.kind != "gcra" else x.limit
                             for x in ws]
                remaining[i] = 0
                return Decision(False, plan, at, remaining, resets, refused_index=i,
                                retry_after=max(1, int(w.end - at)), degraded=True)
        used = []
        for w in ws:
            if w.kind != "gcra":
                _local[w.key] = _local.get(w.key, 0) + costs[w.meter]
            used.append(int(_local[w.key]) if w.kind != "gcra" else 1)
    remaining = [max(0, w.limit - u) for w, u in zip(ws, used, strict=True)]
    # in_doubt: the check went out and its reply was lost, so Redis may have counted it too.
    spool_event(workspace_id=workspace.pk, request_id=request_id, key_id=key_id, endpoint=endpoint, costs=costs,
                at=at, in_doubt=may_have_run(exc),
                counters=[{"key": w.key, "kind": w.kind, "cost": costs[w.meter],
                           "window_ms": max(1, int((w.end - at) * 1000)), "limit": w.limit,
                           "extra_key": w.extra_key} for w in ws if w.kind != "gcra"])
    return Decision(True, plan, at, remaining, resets, used, degraded=True)


def reset_local() -> None:
    with _local_lock:
        _local.clear()
