"""`manage.py demo`'s sample usage (billing/demo_usage.py): through the pipeline, plausible, idempotent."""

import time
from datetime import UTC, datetime, timedelta

from django.db.models import Sum
from django_tenants.utils import schema_context

from billing.demo_usage import KEYS, sample_usage_load
from core.redis import get_redis
from metering import redis_keys
from metering.models import RequestHourly, UsageDaily, UsageEvent, UsageHourly
from tests.metering.usage_helpers import clock_now as clock_now  # noqa: PLC0414 - the fixture, by its name

DAYS = 8


def state(workspace) -> dict:
    """Everything the sample writes, summed: equal twice means nothing changed."""
    with schema_context(workspace.schema_name):
        out = {
            "events": list(UsageEvent.objects.order_by("event_id", "meter").values_list("event_id", "meter", "units",
                                                                                        "key_id", "endpoint")),
            "hourly": list(UsageHourly.objects.order_by("hour", "key_id", "endpoint", "meter", "status_class")
                           .values_list("hour", "key_id", "endpoint", "meter", "status_class", "events", "units")),
            "requests": list(RequestHourly.objects.order_by("hour", "key_id", "endpoint", "status_class")
                             .values_list("hour", "key_id", "endpoint", "status_class", "requests", "errors",
                                          "buckets")),
        }
    with schema_context("public"):
        out["daily"] = list(UsageDaily.objects.filter(workspace_id=workspace.pk).order_by("day", "meter")
                            .values_list("day", "meter", "events", "units"))
    return out


def test_sample_usage_goes_through_the_pipeline_once_however_often_it_runs(workspace, owner, clock_now):
    now = datetime.fromtimestamp(clock_now.at, tz=UTC)
    # when the demo's sample usage is loaded
    started = time.perf_counter()
    generated = sample_usage_load(workspace=workspace, owner=owner, now=now, days=DAYS)
    elapsed = time.perf_counter() - started
    print(f"sample usage: {generated} requests over {DAYS} days in {elapsed:.2f} s")
    first = state(workspace)
    # then every admitted request is a stored event, drained from the stream (nothing left in it)
    assert generated > 1000
    assert get_redis().xlen(redis_keys.usage_stream(workspace.pk)) == 0
    with schema_context(workspace.schema_name):
        admitted = RequestHourly.objects.exclude(status_class="refused").aggregate(n=Sum("requests"))["n"]
        refused = RequestHourly.objects.filter(status_class="refused").aggregate(n=Sum("requests"))["n"]
        stored = UsageEvent.objects.filter(meter="requests").count()
        rolled = UsageHourly.objects.filter(meter="requests").aggregate(n=Sum("events"))["n"]
        classes = set(RequestHourly.objects.values_list("status_class", flat=True))
        keys = set(RequestHourly.objects.values_list("key_id", flat=True))
        endpoints = set(RequestHourly.objects.values_list("endpoint", flat=True))
        hours = set(RequestHourly.objects.values_list("hour", flat=True))
        by_day = {}
        for hour, n in RequestHourly.objects.values_list("hour", "requests"):
            by_day[hour.weekday() >= 5] = by_day.get(hour.weekday() >= 5, 0) + n
    assert admitted + refused == generated
    assert stored == rolled == admitted  # the histogram, the raw events and the rollups agree
    # and it looks like usage: several keys and endpoints, errors and refusals, quieter weekends
    assert len(keys) == len(KEYS) and len(endpoints) == 4
    assert classes == {"2xx", "4xx", "5xx", "refused"}
    assert 0.01 * generated < refused < generated * 0.1
    assert by_day[True] / 2 < by_day[False] / 5 * 0.6  # a weekend day averages well under a weekday
    # and it ends two hours back (the last finished hour is reconciliation's, with Redis's live counter)
    newest = now.replace(minute=0, second=0, microsecond=0) - timedelta(hours=2)
    assert max(hours) == newest and min(hours) >= newest - timedelta(days=DAYS)

    # when it runs again
    again = sample_usage_load(workspace=workspace, owner=owner, now=now, days=DAYS)
    # then it adds nothing and changes nothing
    assert again == 0
    assert state(workspace) == first
