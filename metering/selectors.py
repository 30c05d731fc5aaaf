"""Reads for metering: current limits and usage (GET /api/v1/limits)."""

import logging
import math

import redis

from apikeys.cache import CachedKey
from core.redis import get_redis
from metering import engine, windows
from metering.errors import MeteringUnavailable
from metering.policy import policy_for
from tenants.models import Workspace

logger = logging.getLogger(__name__)


def limits_for(*, workspace: Workspace, key: CachedKey | None = None, user_id: int | None = None) -> dict:
    """The plan, and for each meter and window: limit, used, remaining, reset. One Redis call (MGET).
    `user_id`: the member behind a dashboard session (no key), whose burst window is theirs.

    Raises MeteringUnavailable (503) when Redis fails: the counts live only there.
    """
    at = windows.now()
    policy = policy_for(workspace)
    meters = dict.fromkeys(policy.get("meters", {}))
    meters.setdefault("requests")
    key_burst = (key.burst_limit, key.burst_window) if key is not None and key.burst_limit else None
    checks = engine.build_windows(workspace_id=workspace.pk, policy=policy, meters=meters,
                                  key_id=key.key_id if key is not None else "", key_burst=key_burst, at=at,
                                  user_id=user_id)
    names = []
    for c in checks:
        names.append(c.key)
        if c.extra_key:
            names.append(c.extra_key)
    try:
        values = dict(zip(names, get_redis().mget(names), strict=True)) if names else {}
    except redis.RedisError as exc:
        logger.warning("Redis failed (%s: %s), limits unavailable for workspace %s",
                       type(exc).__name__, exc, workspace.slug)
        raise MeteringUnavailable("Usage counts are unavailable right now. Retry shortly.",
                                  headers={"Retry-After": "5"}) from exc
    out = []
    for c in checks:
        raw = values.get(c.key)
        item = {"meter": c.meter, "window": c.window, "name": c.name, "limit": c.limit, "hard": c.hard}
        if c.kind == "gcra":
            used = windows.burst_in_use(limit=c.limit, burst_ms=c.burst_ms, tat_ms=float(raw) if raw else None, at=at)
            left, reset = windows.burst_state(limit=c.limit, burst_ms=c.burst_ms, in_use=used, at=at)
            item.update(used=used, remaining=left, reset=math.ceil(reset), window_seconds=c.burst_ms // 1000)
        else:
            used = int(raw or 0)
            topup = int(values.get(c.extra_key) or 0) if c.extra_key else 0
            item.update(used=used, remaining=max(0, c.limit - used) + max(0, topup), reset=c.end)
            if c.extra_key:
                item["top_up_balance"] = topup
        out.append(item)
    return {"plan": policy.get("plan"), "limits": out}
