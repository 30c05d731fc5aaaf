"""Metering writes: policies (handed over by billing) and credit top-ups. The usage pipeline
(spool, replay, drain) is metering/pipeline/."""

import logging

import redis
from django.db import transaction
from django_tenants.utils import schema_context

from auditing.services import record
from core import invalidation
from core.errors import InvalidInput
from core.redis import get_redis
from core.types import Actor
from metering import redis_keys, windows
from metering.models import CreditTopUp, Policy
from metering.policy import PolicyError, policy_for, validate
from tenants.models import Workspace

logger = logging.getLogger(__name__)


def policy_set(*, workspace: Workspace, policy: dict, actor: Actor = None) -> dict:
    """Store the workspace's policy; every process applies it on its next request after the
    commit. Audited (limits_changed, in the workspace's trail) when it changes anything.

    Runs in the caller's transaction (billing's plan change). Raises InvalidInput for a
    malformed policy.
    """
    try:
        clean = validate(policy)
    except PolicyError as exc:
        raise InvalidInput(str(exc))
    with schema_context("public"), transaction.atomic(savepoint=False):
        row, created = Policy.objects.get_or_create(workspace_id=workspace.pk, defaults={"data": clean})
        if not created and row.data == clean:
            return clean
        if not created:
            row.data = clean
            row.save(update_fields=["data", "updated_at"])
        record(action="limits_changed", actor=actor, resource=("workspace", workspace.pk), workspace=workspace,
               details={"plan": clean["plan"], "limits": {k: v for k, v in clean.items() if k in ("burst", "meters")}})
        invalidation.publish(f"policy:{workspace.pk}")
    return clean


def default_policy_set(*, policy: dict, actor: Actor = None) -> dict:
    """The policy of every workspace that has none of its own (the default plan's). Audited as a
    platform event when it changes anything."""
    try:
        clean = validate(policy)
    except PolicyError as exc:
        raise InvalidInput(str(exc))
    with schema_context("public"), transaction.atomic(savepoint=False):
        row, created = Policy.objects.get_or_create(workspace_id=None, defaults={"data": clean})
        if not created and row.data == clean:
            return clean
        if not created:
            row.data = clean
            row.save(update_fields=["data", "updated_at"])
        record(action="limits_changed", actor=actor, resource=("policy", "default"),
               details={"plan": clean["plan"], "limits": {k: v for k, v in clean.items() if k in ("burst", "meters")}})
        invalidation.publish("policy:default")
    return clean


def credits_top_up(*, workspace: Workspace, meter: str, units: int, note: str = "", actor: Actor = None) -> int:
    """Add bought credits; they are used after the monthly allowance and do not expire.

    Returns the new top-up balance. The ledger row is the durable record; the balance the hot
    path reads (Redis) moves only once the row has committed, so a rolled-back top-up never
    reaches it. Raises InvalidInput for a bad amount, and redis-py's error when Redis fails
    after the commit (logged: the row is there, the balance has to be raised by hand).
    """
    if not isinstance(units, int) or units <= 0:
        raise InvalidInput("Top up a positive whole number of credits.", field="units")
    with schema_context("public"), transaction.atomic(durable=True):
        row = CreditTopUp.objects.create(workspace_id=workspace.pk, meter=meter, units=units, note=note[:200])
        record(action="credits_topped_up", actor=actor, resource=("workspace", workspace.pk), workspace=workspace,
               details={"meter": meter, "units": units})
    try:
        return int(get_redis().incrby(redis_keys.topup(workspace.pk, meter), units))
    except redis.RedisError:
        logger.error("credit top-up %s committed but its %s units did not reach Redis (%s): raise the "
                     "balance by hand", row.pk, units, redis_keys.topup(workspace.pk, meter))
        raise


RESET_WINDOWS = ("hour", "day", "month", "credits", "burst")

# Zero each counter (KEYS[1..n]) and add what it held to its offset (KEYS[n+1..2n]), which lives
# as long as the counter would have (ARGV[i], ms from now; 0: no offset): the reconciliation adds the offsets back
# to what the counters say was admitted (metering/pipeline/reconcile.py), so a reset hour is not
# reported as a mismatch. One script: no request can be counted between the read and the delete.
_RESET_SCRIPT = """
local n, out = #KEYS / 2, {}
for i = 1, n do
  local v = tonumber(redis.call('GET', KEYS[i]) or '0') or 0
  redis.call('DEL', KEYS[i])
  if v > 0 and ARGV[i] ~= '0' then
    redis.call('INCRBY', KEYS[n + i], v)
    redis.call('PEXPIRE', KEYS[n + i], ARGV[i])
  end
  out[i] = v
end
return out
"""


def _reset_targets(*, workspace: Workspace, window: str, meter: str | None, key_id: str | None,
                   at: float) -> list[tuple[str, str, int]]:
    """(label, counter key, ms the offset is kept or 0 for none) of each counter to zero."""
    if window == "burst":
        if not key_id:
            raise InvalidInput("A burst window belongs to a key: name the key.", field="key")
        return [(f"burst:{key_id}", redis_keys.burst(workspace.pk, key_id), 0)]
    if key_id:
        raise InvalidInput("A key has only its burst window; the hour, day, month and credits windows are the "
                           "workspace's.", field="window")
    meters = policy_for(workspace).get("meters", {})
    names = [meter] if meter else list(meters)
    out = []
    for name in names:
        spec = meters.get(name, {})
        if window not in spec:
            if meter:
                raise InvalidInput(f"The workspace's plan sets no {window} window for the {name!r} meter.",
                                   field="meter")
            continue
        if window == "credits":
            start, end = windows.bounds("month", at)
            out.append((f"{name}:credits", redis_keys.credits(workspace.pk, name, start), 0))
        else:
            start, end = windows.bounds(window, at)
            # the offset lives as long as the counter (check.lua: the window's end + 1 h, by metering's clock)
            out.append((f"{name}:{window}", redis_keys.quota(workspace.pk, name, window, start),
                        int((end + 3600 - at) * 1000)))
    if not out:
        raise InvalidInput(f"The workspace's plan sets no {window} window to reset.", field="window")
    return out


def usage_reset(*, workspace: Workspace, window: str, reason: str, meter: str | None = None,
                key_id: str | None = None, actor: Actor = None) -> dict[str, int]:
    """An operator's reset: zero the workspace's counters of the current `window` (hour, day, month:
    the quota; credits: the allowance used; every meter the plan limits in it, or `meter`), or a
    key's burst (`window` "burst" with `key_id`), so the next request is admitted again. Nothing
    already recorded changes: usage events and rollups stay, and billing rates what was used.
    Returns the units each counter held ({"requests:hour": 1000}); for a burst, the ms it had
    left to refill ({"burst:<key id>": 1200}).

    Audited as a platform event with the reason, in the same transaction, before Redis is written:
    if Redis fails the audit rolls back and the error is raised.

    Raises InvalidInput for a missing reason, an unknown window or a window the plan doesn't set.
    """
    reason = (reason or "").strip()
    if not reason:
        raise InvalidInput("Say why the usage is reset: the reason goes into the audit trail.", field="reason")
    if len(reason) > 500:
        raise InvalidInput("Keep the reason under 500 characters.", field="reason")
    if window not in RESET_WINDOWS:
        raise InvalidInput(f"Unknown window {window!r}. Windows: {', '.join(RESET_WINDOWS)}.", field="window")
    targets = _reset_targets(workspace=workspace, window=window, meter=meter, key_id=key_id, at=windows.now())
    labels = [label for label, _, _ in targets]
    counters = [key for _, key, _ in targets]
    with schema_context("public"), transaction.atomic(durable=True):
        record(action="usage_reset", actor=actor, resource=("workspace", workspace.pk), severity="warning",
               details={"workspace": workspace.slug, "window": window, "counters": labels,
                        "key": key_id or None, "reason": reason})
        held = get_redis().eval(_RESET_SCRIPT, 2 * len(targets), *counters,
                                *[redis_keys.reset_offset(key) for key in counters],
                                *[str(keep) for _, _, keep in targets])
    if window == "burst":  # the key held its theoretical arrival time (epoch ms): say how far ahead it was
        now_ms = windows.now() * 1000
        return {labels[0]: max(0, int(float(held[0]) - now_ms)) if held[0] else 0}
    return {label: int(value) for label, value in zip(labels, held, strict=True)}
