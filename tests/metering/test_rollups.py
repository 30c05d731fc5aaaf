"""Hourly rollups and daily totals: recomputed from raw events for the hours a batch touched,
identical when recomputed over any range, each workspace's own."""

import io
from datetime import UTC, date, datetime, timedelta
from http import HTTPStatus

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django_tenants.utils import schema_context

from metering.models import UsageDaily, UsageHourly
from metering.pipeline.drain import drain_workspace, usage_events_store
from metering.pipeline.rollups import daily_rows, hourly_rows, rollup_range
from tests.metering.conftest import set_policy

H = datetime(2030, 3, 9, 23, tzinfo=UTC)  # the hour before midnight: two days touched
SPAN = (H - timedelta(hours=2), H + timedelta(hours=3))
DAYS = (date(2030, 3, 9), date(2030, 3, 11))


def row(event_id, at, *, key="k1", endpoint="/api/v1/analyze", meter="requests", units=1, status="admitted"):
    return (event_id, f"rid-{event_id}", key, endpoint, meter, units, status, at)


def sample() -> list[tuple]:
    """Two hours and a day boundary; two keys, two endpoints, two meters, statuses of each class."""
    return [
        row("a", H + timedelta(minutes=1)),
        row("a", H + timedelta(minutes=1), meter="tokens", units=7),
        row("b", H + timedelta(minutes=59, seconds=59), key="k2"),
        row("c", H + timedelta(minutes=5), endpoint="/api/v1/other", status="200"),
        row("d", H + timedelta(minutes=6), status="404"),
        row("e", H + timedelta(minutes=7), status="503"),
        row("f", H + timedelta(hours=1), meter="tokens", units=3),  # 00:00 the next day
        row("g", H + timedelta(hours=1, minutes=30), meter="tokens", units=4),
    ]


def store(workspace, rows) -> int:
    return usage_events_store(workspace_id=workspace.pk, schema_name=workspace.schema_name, rows=rows)


def hourly(workspace):
    return hourly_rows(schema_name=workspace.schema_name, start=SPAN[0], end=SPAN[1])


def daily(workspace):
    return daily_rows(workspace_id=workspace.pk, start=DAYS[0], end=DAYS[1])


def test_usage_events_store_rolls_up_per_hour_key_endpoint_meter_and_status_class(workspace):
    # when raw events are stored
    assert store(workspace, sample()) == 8
    # then each hour has one row per key, endpoint, meter and status class, with errors counted
    n = H + timedelta(hours=1)
    assert hourly(workspace) == [
        (H, "k1", "/api/v1/analyze", "requests", "4xx", 1, 1, 1),
        (H, "k1", "/api/v1/analyze", "requests", "5xx", 1, 1, 1),
        (H, "k1", "/api/v1/analyze", "requests", "admitted", 1, 1, 0),
        (H, "k1", "/api/v1/analyze", "tokens", "admitted", 1, 7, 0),
        (H, "k1", "/api/v1/other", "requests", "2xx", 1, 1, 0),
        (H, "k2", "/api/v1/analyze", "requests", "admitted", 1, 1, 0),
        (n, "k1", "/api/v1/analyze", "tokens", "admitted", 2, 7, 0),
    ]
    # and each UTC day its totals per meter in the public schema
    assert daily(workspace) == [(date(2030, 3, 9), "requests", 5, 5, 2), (date(2030, 3, 9), "tokens", 1, 7, 0),
                                (date(2030, 3, 10), "tokens", 2, 7, 0)]


def test_usage_events_store_late_event_recomputes_its_hour_and_a_replay_changes_nothing(workspace):
    # given stored and rolled-up events
    store(workspace, sample())
    before_hourly, before_daily = hourly(workspace), daily(workspace)
    # when the same events come again (a replay), then nothing changes
    assert store(workspace, sample()) == 0
    assert (hourly(workspace), daily(workspace)) == (before_hourly, before_daily)
    # when a late event of the first hour arrives, then that hour and its day count it
    assert store(workspace, [row("late", H + timedelta(minutes=30), meter="tokens", units=5)]) == 1
    assert (H, "k1", "/api/v1/analyze", "tokens", "admitted", 2, 12, 0) in hourly(workspace)
    assert (date(2030, 3, 9), "tokens", 2, 12, 0) in daily(workspace)
    assert len(hourly(workspace)) == len(before_hourly)


def test_rollup_range_recomputed_after_a_wipe_gives_identical_rows(workspace):
    # given rollups the drain's stores made, batch by batch and out of order
    rows = sample()
    for batch in (rows[5:], rows[:2], rows[2:5]):
        store(workspace, batch)
    made_hourly, made_daily = hourly(workspace), daily(workspace)
    # when they are wiped and the range recomputed
    with schema_context(workspace.schema_name):
        UsageHourly.objects.all().delete()
    with schema_context("public"):
        UsageDaily.objects.filter(workspace_id=workspace.pk).delete()
    assert hourly(workspace) == []
    written = rollup_range(workspace_id=workspace.pk, schema_name=workspace.schema_name, start=SPAN[0], end=SPAN[1])
    # then the same rows come back
    assert written == len(made_hourly)
    assert (hourly(workspace), daily(workspace)) == (made_hourly, made_daily)
    # and once more changes nothing
    rollup_range(workspace_id=workspace.pk, schema_name=workspace.schema_name, start=SPAN[0], end=SPAN[1])
    assert (hourly(workspace), daily(workspace)) == (made_hourly, made_daily)


def test_rollups_of_one_workspace_hold_nothing_of_another(workspace, other_workspace):
    # given usage in both workspaces in the same hours
    store(workspace, sample())
    store(other_workspace, [row("x", H + timedelta(minutes=3), key="other-key", units=1)])
    # then each workspace's rollups and daily totals hold only its own
    assert {r[1] for r in hourly(workspace)} == {"k1", "k2"}
    assert hourly(other_workspace) == [(H, "other-key", "/api/v1/analyze", "requests", "admitted", 1, 1, 0)]
    assert daily(other_workspace) == [(date(2030, 3, 9), "requests", 1, 1, 0)]
    # and recomputing one leaves the other's as it was
    rollup_range(workspace_id=other_workspace.pk, schema_name=other_workspace.schema_name, start=SPAN[0],
                 end=SPAN[1])
    assert daily(workspace)[0] == (date(2030, 3, 9), "requests", 5, 5, 2)


def test_drain_rolls_up_admitted_requests(workspace, api_key, api_client):
    # given K admitted requests
    set_policy(workspace, plan="t", meters={"requests": {"hour": 100}})
    for _ in range(5):
        response = api_client.post("/api/v1/analyze", {"text": "one two three"}, format="json",
                                   HTTP_AUTHORIZATION=f"Bearer {api_key[1]}")
        assert response.status_code == HTTPStatus.OK
    # when drained, then the hour's rollup counts K requests and their tokens
    drain_workspace(workspace_id=workspace.pk, schema_name=workspace.schema_name)
    with schema_context(workspace.schema_name):
        rows = {r.meter: (r.key_id, r.events, r.units) for r in UsageHourly.objects.all()}
    assert rows == {"requests": (api_key[0].key_id, 5, 5), "tokens": (api_key[0].key_id, 5, 15)}


def test_rollup_command_recomputes_a_range_and_says_what_it_did(workspace):
    # given stored events whose rollups were lost
    store(workspace, sample())
    expected = hourly(workspace)
    with schema_context(workspace.schema_name), connection.cursor() as cursor:
        cursor.execute("DELETE FROM metering_usagehourly")
    # when
    out = io.StringIO()
    call_command("rollup", workspace=workspace.slug, start="2030-03-09T21:00", end="2030-03-10T02:00", stdout=out)
    # then
    assert hourly(workspace) == expected
    assert "7 hourly rollup rows" in out.getvalue()


@pytest.mark.parametrize(("args", "message"), [
    ({"workspace": "nope", "start": "2030-03-09", "end": "2030-03-10"}, "No workspace with slug 'nope'"),
    ({"workspace": "acme", "start": "yesterday", "end": "2030-03-10"}, "--from: 'yesterday' is not a date"),
    ({"workspace": "acme", "start": "2030-03-10", "end": "2030-03-09"}, "--from: The start of the range must be"),
    ({"workspace": "acme", "start": "2001-01-01", "end": "2030-03-09"}, "--from: Raw events are kept from"),
])
def test_rollup_command_refuses_bad_ranges_and_changes_nothing(workspace, args, message):
    # given rollups
    store(workspace, sample())
    before = hourly(workspace), daily(workspace)
    # when the command is given a bad argument, then it says which and changes nothing
    with pytest.raises(CommandError, match=message):
        call_command("rollup", **args)
    assert (hourly(workspace), daily(workspace)) == before


def test_usage_events_store_adds_an_event_older_than_retention_to_its_kept_rollup(workspace):
    # given an hour long past the raw events' retention: its rollups kept, its raw events dropped
    old = datetime(2025, 1, 10, 10, tzinfo=UTC)
    with schema_context(workspace.schema_name):
        UsageHourly.objects.create(hour=old, key_id="k1", endpoint="/api/v1/analyze", meter="requests",
                                   status_class="admitted", events=7, units=7, errors=0)
    with schema_context("public"):
        UsageDaily.objects.create(workspace_id=workspace.pk, day=old.date(), meter="requests", events=7, units=7,
                                  errors=0)
    # when an event of that hour arrives that late (a drain catching up after a long outage)
    assert store(workspace, [row("very-late", old + timedelta(minutes=5))]) == 1
    # then it is added to what the rollups had, not recomputed from the one raw event left
    assert hourly_rows(schema_name=workspace.schema_name, start=old, end=old + timedelta(hours=1)) == [
        (old, "k1", "/api/v1/analyze", "requests", "admitted", 8, 8, 0)]
    assert daily_rows(workspace_id=workspace.pk, start=old.date(), end=old.date() + timedelta(days=1)) == [
        (old.date(), "requests", 8, 8, 0)]
    # and a recompute of that range is refused, though the late event gave its month a partition again
    with pytest.raises(CommandError, match="--from: Raw events are kept from"):
        call_command("rollup", workspace=workspace.slug, start="2025-01-10", end="2025-01-11")
