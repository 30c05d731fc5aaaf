"""metering.services: policies handed over by billing, and credit top-ups."""

import pytest
from django.db import transaction
from django_tenants.utils import schema_context

from auditing.models import AuditEvent
from core.redis import get_redis
from metering import redis_keys
from metering.models import CreditTopUp
from metering.services import credits_top_up, policy_set

POLICY = {"plan": "t", "burst": {"limit": 5, "window": 1}, "meters": {"requests": {"hour": 10}}}


def _limits_events(workspace) -> list[AuditEvent]:
    with schema_context(workspace.schema_name):
        return list(AuditEvent.objects.filter(action="limits_changed").order_by("id"))


def test_policy_set_audits_a_change_with_its_actor_and_not_a_repeat(workspace, owner):
    # given a workspace with no policy of its own
    # when billing hands over a policy, then the same one again, then another
    policy_set(workspace=workspace, policy=POLICY, actor=("operator", owner))
    policy_set(workspace=workspace, policy=POLICY, actor=("operator", owner))
    policy_set(workspace=workspace, policy={**POLICY, "meters": {"requests": {"hour": 20}}})
    # then two changes are in the workspace's trail, the first with its actor and the new limits
    first, second = _limits_events(workspace)
    assert (first.actor_type, first.actor_label) == ("operator", owner.email)
    assert first.details["limits"]["meters"]["requests"]["hour"] == {"limit": 10, "hard": True}
    assert second.details["limits"]["meters"]["requests"]["hour"]["limit"] == 20


def test_credits_top_up_reaches_redis_only_once_committed(workspace, owner):
    # given a top-up whose transaction rolls back
    key = redis_keys.topup(workspace.pk, "runs")
    with pytest.raises(RuntimeError), transaction.atomic():
        with pytest.raises(RuntimeError, match="durable"):
            credits_top_up(workspace=workspace, meter="runs", units=5, actor=owner)  # inside another: refused
        raise RuntimeError
    # then nothing was recorded and the balance the hot path reads did not move
    assert get_redis().get(key) is None
    assert not CreditTopUp.objects.filter(workspace_id=workspace.pk).exists()
    # when a top-up commits
    assert credits_top_up(workspace=workspace, meter="runs", units=5, actor=owner) == 5
    # then the ledger, the trail and the balance agree
    assert CreditTopUp.objects.get(workspace_id=workspace.pk).units == 5
    assert int(get_redis().get(key)) == 5
