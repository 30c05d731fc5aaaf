"""Policies: the plain limits metering enforces, and the in-process cache the hot path reads.

Shape (billing builds it from a plan plus operator overrides):

    {"plan": "free", "upgrade": "Upgrade to Pro ...",       # plan name and how to raise limits
     "burst": {"limit": 20, "window": 1},                    # per key; a key's own override wins
     "meters": {
        "requests": {"hour": {"limit": 1000, "hard": true}, "day": {"limit": 10000, "hard": true}},
        "analysis_runs": {"credits": 300}}}                  # monthly allowance, refilled each period

A meter a policy does not name is counted but not limited. A window may name why it exists
when it is not the plan's own limit: "reason" (a code, e.g. "spend_cap": the owner's budget,
set by billing) and "note" (what to tell the caller); a refusal by such a window is that
reason's problem (metering.errors), and its 80/100 % crossings are left to whoever set it.
"""

import copy
import re
from typing import Any

from django_tenants.utils import schema_context

from core.cache import ALL, LocalCache

WINDOWS = ("hour", "day", "month")
_METER_NAME = re.compile(r"[A-Za-z0-9_]{1,64}")
BURST_WINDOWS = (1, 60)
REASONS = ("spend_cap",)  # why a window exists besides the plan (see the module docstring)

# The free plan's limits: what a workspace gets before billing says anything else.
FALLBACK_POLICY = {
    "plan": "free",
    "upgrade": "Upgrade your plan in the dashboard's billing page for higher limits.",
    "burst": {"limit": 20, "window": 1},
    "meters": {
        "requests": {"hour": {"limit": 1000, "hard": True}, "day": {"limit": 10000, "hard": True}},
        "analysis_runs": {"credits": 0},
    },
}


class PolicyError(ValueError):
    pass


def validate(policy: dict) -> dict:
    """A normalised copy of `policy`. Raises PolicyError naming the bad part."""
    if not isinstance(policy, dict):
        raise PolicyError("a policy is an object")
    out: dict[str, Any] = {"plan": str(policy.get("plan") or "custom"), "upgrade": str(policy.get("upgrade") or ""), "meters": {}}
    burst = policy.get("burst")
    if burst is not None:
        limit, window = burst.get("limit"), burst.get("window", 1)
        if not isinstance(limit, int) or limit < 1 or window not in BURST_WINDOWS:
            raise PolicyError("burst needs a positive integer limit and a window of 1 or 60 seconds")
        out["burst"] = {"limit": limit, "window": window}
    for meter, spec in (policy.get("meters") or {}).items():
        # ASCII only: meter names go into response headers (metering.headers)
        if not isinstance(meter, str) or not _METER_NAME.fullmatch(meter):
            raise PolicyError(f"meter names are 1-64 ASCII letters, digits and underscores: {meter!r}")
        if not isinstance(spec, dict):
            raise PolicyError(f"meter {meter!r}: limits are an object")
        clean: dict[str, dict | int] = {}
        for window, limit in spec.items():
            if window == "credits":
                if not isinstance(limit, int) or limit < 0:
                    raise PolicyError(f"meter {meter!r}: credits is a non-negative integer")
                clean["credits"] = limit
                continue
            if window not in WINDOWS:
                raise PolicyError(f"meter {meter!r}: unknown window {window!r} (hour, day, month, credits)")
            if limit is None:
                continue  # no cap in this window
            if isinstance(limit, int):
                limit = {"limit": limit, "hard": True}
            if not isinstance(limit, dict) or not isinstance(limit.get("limit"), int) or limit["limit"] < 0:
                raise PolicyError(f"meter {meter!r} {window}: limit is a non-negative integer")
            window_spec: dict[str, Any] = {"limit": limit["limit"], "hard": bool(limit.get("hard", True))}
            if limit.get("reason") is not None:
                if limit["reason"] not in REASONS or not isinstance(limit.get("note", ""), str):
                    raise PolicyError(f"meter {meter!r} {window}: reason is one of {', '.join(REASONS)}, "
                                      "with a text note")
                window_spec.update(reason=limit["reason"], note=limit.get("note", "")[:500])
            clean[window] = window_spec
        out["meters"][meter] = clean
    return out


def _load(workspace_id: int) -> dict:
    from metering.models import Policy

    with schema_context("public"):
        own = Policy.objects.filter(workspace_id=workspace_id).values_list("data", flat=True).first()
        if own is not None:
            return own
        default = Policy.objects.filter(workspace_id__isnull=True).values_list("data", flat=True).first()
    return default or copy.deepcopy(FALLBACK_POLICY)


def _policy_topics(topic: str):
    if topic == "policy:default":
        return ALL
    if topic.startswith(("policy:", "workspace:")):
        return int(topic.split(":", 1)[1])
    return None


_cache = LocalCache("policies", topics=_policy_topics, max_entries=100_000)


def policy_for(workspace) -> dict:
    """The workspace's policy, from process memory in steady state."""
    return _cache.get_or_load(workspace.pk, _load)


def plan_burst(workspace) -> tuple[str, tuple[int, int] | None]:
    """The workspace's plan name and its burst, (limit, window seconds), or None when the plan
    sets no burst limit. What a key's own burst limit may not exceed (apikeys.services)."""
    policy = policy_for(workspace)
    burst = policy.get("burst")
    return str(policy.get("plan") or "current"), ((burst["limit"], burst["window"]) if burst else None)
