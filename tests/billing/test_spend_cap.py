"""The spend cap: a monthly overage budget, refused in the request path at the cap and not before."""

from http import HTTPStatus

import pytest
from django.core import mail

from auditing.models import AuditEvent
from billing.services import spend_cap_set, subscription_set_plan
from billing.spend_cap import spend_alerts_check
from core.errors import InvalidInput
from metering.policy import policy_for
from tests.billing.conftest import metered_plan
from tests.metering.test_api import analyze


@pytest.fixture
def capped(workspace, owner, committed):
    """5 requests included, then 5 cents each, capped at 25 cents: 10 requests a month."""
    metered_plan(unit_amount=5)
    with committed():
        subscription_set_plan(workspace=workspace, plan_slug="metered")
        spend_cap_set(workspace=workspace, cap_cents=25, actor=owner)
    return workspace


def test_spend_cap_refuses_at_the_cap_and_not_before(capped, api_key, api_client, clock):
    # when the workspace makes 10 requests: 5 included, 5 over at 5 cents (25 of 25 cents)
    statuses = [analyze(api_client, api_key[1]).status_code for _ in range(10)]
    # then all are served; the 11th would cost 30 cents, past the cap: refused, naming the cap
    assert statuses == [HTTPStatus.OK] * 10
    refused = analyze(api_client, api_key[1])
    assert refused.status_code == HTTPStatus.PAYMENT_REQUIRED
    problem = refused.json()
    assert problem["code"] == "spend_cap_reached" and problem["reason"] == "spend_cap"
    assert "spend cap ($0.25 of overage a month) allows 10 requests" in problem["detail"]
    assert "billing page" in problem["detail"]
    assert refused["Retry-After"]


def test_spend_cap_window_is_in_the_policy_metering_reads(capped):
    month = policy_for(capped)["meters"]["requests"]["month"]
    assert (month["limit"], month["hard"], month["reason"]) == (10, True, "spend_cap")


def test_spend_cap_removed_lifts_the_refusal(capped, api_key, api_client, clock, committed, owner):
    for _ in range(10):
        analyze(api_client, api_key[1])
    assert analyze(api_client, api_key[1]).status_code == HTTPStatus.PAYMENT_REQUIRED
    with committed():
        spend_cap_set(workspace=capped, cap_cents=None, actor=owner)
    assert analyze(api_client, api_key[1]).status_code == HTTPStatus.OK


def test_spend_cap_alerts_at_80_and_100_percent_once_each(capped, api_key, api_client, clock, committed):
    # 8 requests: 15 of 25 cents (60 %): nothing
    for _ in range(8):
        analyze(api_client, api_key[1])
    with committed():
        assert spend_alerts_check(now=_now(clock)) == 0
    # 9: 20 of 25 cents (80 %): one alert, not repeated
    analyze(api_client, api_key[1])
    with committed():
        assert spend_alerts_check(now=_now(clock)) == 1
        assert spend_alerts_check(now=_now(clock)) == 0
    # 10: at the cap (the next request is refused): the 100 % alert
    analyze(api_client, api_key[1])
    with committed():
        assert spend_alerts_check(now=_now(clock)) == 1
    from django_tenants.utils import schema_context
    with schema_context(capped.schema_name):
        assert list(AuditEvent.objects.filter(action="spend_cap_warning").order_by("id")
                    .values_list("details__percent", flat=True)) == [80, 100]
    subjects = [m.subject for m in mail.outbox if "spend cap" in m.subject]
    assert subjects == [f"[{capped.name}] 80% of your spend cap used", f"[{capped.name}] 100% of your spend cap used"]


def _now(clock):
    from datetime import UTC, datetime

    return datetime.fromtimestamp(clock.at, tz=UTC)


@pytest.mark.parametrize("cap", [-1, 1.5, True, 10**9])
def test_spend_cap_set_refuses_bad_amounts(capped, cap):
    with pytest.raises(InvalidInput):
        spend_cap_set(workspace=capped, cap_cents=cap)
    assert policy_for(capped)["meters"]["requests"]["month"]["limit"] == 10


def test_spend_cap_set_refuses_a_plan_without_overage(workspace, catalogue):
    subscription_set_plan(workspace=workspace, plan_slug="startup")
    with pytest.raises(InvalidInput, match="bills no overage"):
        spend_cap_set(workspace=workspace, cap_cents=1000)
