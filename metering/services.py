"""Metering writes: policies (handed over by billing) and credit top-ups. The usage pipeline
(spool, replay, drain) is metering/pipeline/."""

import logging

from django.db import transaction
from django_tenants.utils import schema_context

from auditing.services import record
from core import invalidation
from core.errors import InvalidInput
from core.redis import get_redis
from metering import redis_keys
from metering.models import CreditTopUp, Policy
from metering.policy import PolicyError, validate

logger = logging.getLogger(__name__)



def policy_set(*, workspace, policy: dict) -> dict:
    """Store the workspace's policy; every process applies it on its next request.

    Raises InvalidInput for a malformed policy.
    """
    try:
        clean = validate(policy)
    except PolicyError as exc:
        raise InvalidInput(str(exc))
    with schema_context("public"), transaction.atomic():
        Policy.objects.update_or_create(workspace_id=workspace.pk, defaults={"data": clean})
    invalidation.publish(f"policy:{workspace.pk}")
    return clean


def default_policy_set(*, policy: dict) -> dict:
    """The policy of every workspace that has none of its own (the default plan's)."""
    try:
        clean = validate(policy)
    except PolicyError as exc:
        raise InvalidInput(str(exc))
    with schema_context("public"), transaction.atomic():
        Policy.objects.update_or_create(workspace_id=None, defaults={"data": clean})
    invalidation.publish("policy:default")
    return clean


def credits_top_up(*, workspace, meter: str, units: int, note: str = "", actor=None) -> int:
    """Add bought credits; they are used after the monthly allowance and do not expire.

    Returns the new top-up balance. The ledger row is the durable record.
    """
    if not isinstance(units, int) or units <= 0:
        raise InvalidInput("Top up a positive whole number of credits.", field="units")
    with schema_context("public"), transaction.atomic():
        CreditTopUp.objects.create(workspace_id=workspace.pk, meter=meter, units=units, note=note[:200])
        record(action="credits_topped_up", actor=actor, resource=("workspace", workspace.pk), workspace=workspace,
               details={"meter": meter, "units": units})
        balance = get_redis().incrby(redis_keys.topup(workspace.pk, meter), units)
    return int(balance)
