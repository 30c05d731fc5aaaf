from datetime import UTC, date, datetime

import pytest

from billing.models import Plan, Subscription
from billing.services import catalogue_ensure, subscription_set_plan
from metering.models import UsageDaily


@pytest.fixture
def catalogue():
    return {p.slug: p for p in catalogue_ensure()}


def subscribe(workspace, plan_slug="pro", since=datetime(2026, 1, 1, tzinfo=UTC)):
    """The workspace on `plan_slug`, subscribed since `since` (before the periods tests close)."""
    sub = subscription_set_plan(workspace=workspace, plan_slug=plan_slug)
    Subscription.objects.filter(pk=sub.pk).update(started_at=since)
    sub.refresh_from_db()
    return sub


def usage(workspace, day: date, meter: str, units: int) -> None:
    """A day's total as the rollups would have written it (metering.pipeline.rollups)."""
    UsageDaily.objects.update_or_create(workspace_id=workspace.pk, day=day, meter=meter,
                                        defaults={"events": units, "units": units, "errors": 0})


def metered_plan(slug="metered", *, included=5, unit_amount=10, **extra) -> Plan:
    """A plan whose overage is reachable in a test: `included` requests, then `unit_amount` cents each."""
    return Plan.objects.create(slug=slug, name=slug.title(), monthly_price_cents=1000, sort_order=50,
                               limits={"meters": {"requests": {}}}, included={"requests": included},
                               overage={"requests": {"model": "per_unit", "unit_amount": unit_amount}}, **extra)


@pytest.fixture
def clock(monkeypatch):
    """Metering's clock, fixed mid-month (2026-11-15 12:00 UTC): the month's counters don't turn over."""
    from metering import windows
    from tests.metering.conftest import Clock

    c = Clock(datetime(2026, 11, 15, 12, tzinfo=UTC).timestamp())
    monkeypatch.setattr(windows, "clock", c)
    return c
