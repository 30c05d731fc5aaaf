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
from metering import redis_keys
from metering.models import CreditTopUp, Policy
from metering.policy import PolicyError, validate
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
