"""The metering check against real Redis: windows, boundaries, hard/soft, credits, all-or-nothing."""

from datetime import UTC, datetime

import pytest
from django_tenants.utils import schema_context

from core.redis import get_redis
from metering import engine, redis_keys
from metering.models import UsageEvent
from metering.pipeline import events
from metering.pipeline.drain import drain_all
from metering.services import credits_top_up
from tests.metering.conftest import set_policy


def run(workspace, clock=None, key=None, **costs):
    return engine.check(workspace=workspace, costs=costs or {"requests": 1}, request_id=f"r{id(object())}-{costs}",
                        key=key)


def stream_len(workspace):
    return get_redis().xlen(redis_keys.usage_stream(workspace.pk))


def test_hour_quota_admits_exactly_the_limit_then_refuses(workspace, clock):
    # given a workspace allowed 3 requests an hour
    set_policy(workspace, plan="t", meters={"requests": {"hour": 3}})
    # when 4 requests arrive in the same hour
    results = [run(workspace) for _ in range(4)]
    # then 3 are admitted and counted, the 4th refused with the hour named
    assert [r.admitted for r in results] == [True, True, True, False]
    assert results[2].checks[0].remaining == 0
    assert results[3].refused.name == "hour"
    assert stream_len(workspace) == 3


def test_hour_quota_resets_at_the_utc_boundary(workspace, clock):
    set_policy(workspace, plan="t", meters={"requests": {"hour": 1}})
    assert run(workspace).admitted
    refused = run(workspace)
    # the refusal says when: the next full hour, 2 s away
    assert not refused.admitted
    assert refused.retry_after == 2
    assert int(refused.refused.reset_at) == int(datetime(2026, 4, 1, tzinfo=UTC).timestamp())
    # when the hour turns over
    clock.advance(2)
    # then the quota is fresh
    assert run(workspace).admitted


def test_day_and_month_quotas_reset_at_midnight_and_month_start(workspace, clock):
    set_policy(workspace, plan="t", meters={"requests": {"day": 2, "month": 3}})
    assert run(workspace).admitted and run(workspace).admitted
    assert run(workspace).refused.name == "day"
    clock.advance(2)  # 2026-04-01 00:00:00: new day and new month
    decisions = [run(workspace) for _ in range(3)]
    assert [d.admitted for d in decisions] == [True, True, False]
    month = next(c for c in decisions[1].checks if c.window == "month")
    assert month.used == 2
    assert int(month.reset_at) == int(datetime(2026, 5, 1, tzinfo=UTC).timestamp())


def test_month_window_has_no_fixed_length(workspace, clock):
    set_policy(workspace, plan="t", meters={"requests": {"month": 10}})
    decision = run(workspace)
    check = decision.checks[0]
    assert check.policy_window is None
    assert check.reset_at - clock.at == 2


def test_all_or_nothing_when_one_window_refuses(workspace, clock):
    # given the day is exhausted but the hour is not
    set_policy(workspace, plan="t", meters={"requests": {"hour": 10, "day": 1}, "tokens": {"day": 100}})
    assert run(workspace, requests=1, tokens=5).admitted
    # when another request comes
    refused = run(workspace, requests=1, tokens=5)
    # then it is refused and no window counted it: hour and tokens still show one request
    assert not refused.admitted and refused.refused.name == "day"
    by_name = {c.name: c for c in refused.checks}
    assert by_name["hour"].used == 1
    assert by_name["tokens-day"].used == 5
    assert stream_len(workspace) == 1
    # and stays so in Redis: a third request finds the same counts (the refused one left none)
    again = {c.name: c.used for c in run(workspace, requests=1, tokens=5).checks}
    assert again == {"hour": 1, "day": 1, "tokens-day": 5}


def test_refusals_are_counted_separately(workspace, clock):
    set_policy(workspace, plan="t", meters={"requests": {"hour": 1}})
    run(workspace)
    run(workspace)
    run(workspace)
    counts = get_redis().hgetall(redis_keys.refusals(workspace.pk, clock.at))
    assert counts[b"requests:hour"] == b"2"


def test_first_refusal_per_window_is_flagged_once(workspace, clock):
    set_policy(workspace, plan="t", meters={"requests": {"hour": 1}})
    run(workspace)
    assert run(workspace).first_refusal is True
    assert run(workspace).first_refusal is False


def test_soft_limit_admits_and_counts_the_overage(workspace, clock):
    set_policy(workspace, plan="t", meters={"requests": {"hour": {"limit": 2, "hard": False}}})
    decisions = [run(workspace) for _ in range(4)]
    assert all(d.admitted for d in decisions)
    assert decisions[-1].checks[0].used == 4
    assert decisions[-1].checks[0].remaining == 0


def test_burst_gcra_allows_the_burst_then_one_per_interval(workspace, api_key, clock):
    from apikeys.cache import keys

    set_policy(workspace, plan="t", burst={"limit": 2, "window": 1}, meters={})
    key = keys.get(api_key[0].key_id)
    assert run(workspace, key=key).admitted
    assert run(workspace, key=key).admitted
    refused = run(workspace, key=key)
    assert not refused.admitted and refused.refused.name == "burst"
    assert refused.retry_after == 1
    clock.advance(0.5)  # one slot frees every 1/2 s
    assert run(workspace, key=key).admitted
    assert not run(workspace, key=key).admitted


def test_per_key_burst_override_wins_over_the_plan(workspace, owner, clock):
    from apikeys.cache import keys
    from apikeys.services import apikey_create

    set_policy(workspace, plan="t", burst={"limit": 100, "window": 1}, meters={})
    row, _ = apikey_create(workspace=workspace, name="tight", burst_limit=1, actor=owner)
    key = keys.get(row.key_id)
    assert run(workspace, key=key).admitted
    assert run(workspace, key=key).refused.name == "burst"


def test_burst_is_per_key_quotas_per_workspace(workspace, owner, clock):
    from apikeys.cache import keys
    from apikeys.services import apikey_create

    set_policy(workspace, plan="t", burst={"limit": 1, "window": 60}, meters={"requests": {"hour": 3}})
    a = keys.get(apikey_create(workspace=workspace, name="a", actor=owner)[0].key_id)
    b = keys.get(apikey_create(workspace=workspace, name="b", actor=owner)[0].key_id)
    # each key has its own burst allowance...
    assert run(workspace, key=a).admitted and run(workspace, key=b).admitted
    assert run(workspace, key=a).refused.name == "burst"
    # ...while the hour quota is shared: a third key gets the last request, a fourth nothing
    c = keys.get(apikey_create(workspace=workspace, name="c", actor=owner)[0].key_id)
    d = keys.get(apikey_create(workspace=workspace, name="d", actor=owner)[0].key_id)
    assert run(workspace, key=c).admitted
    assert run(workspace, key=d).refused.name == "hour"


def test_credits_allowance_then_top_up_then_refusal(workspace, owner, clock):
    set_policy(workspace, plan="t", meters={"analysis_runs": {"credits": 2}})
    assert run(workspace, analysis_runs=1).admitted
    assert run(workspace, analysis_runs=1).admitted
    refused = run(workspace, analysis_runs=1)
    assert not refused.admitted and refused.refused.name == "analysis_runs-credits"
    # when 3 credits are bought
    assert credits_top_up(workspace=workspace, meter="analysis_runs", units=3, actor=owner) == 3
    # then they are spent after the allowance, and the balance shows it
    ok = run(workspace, analysis_runs=2)
    assert ok.admitted and ok.checks[0].topup == 1 and ok.checks[0].remaining == 1
    assert not run(workspace, analysis_runs=2).admitted  # needs 2, has 1: nothing spent
    assert run(workspace, analysis_runs=1).admitted


def test_credits_refill_at_the_start_of_the_month_and_top_ups_carry_over(workspace, owner, clock):
    set_policy(workspace, plan="t", meters={"analysis_runs": {"credits": 1}})
    credits_top_up(workspace=workspace, meter="analysis_runs", units=1, actor=owner)
    assert run(workspace, analysis_runs=1).admitted
    clock.advance(2)  # new month
    decision = run(workspace, analysis_runs=1)
    assert decision.admitted and decision.checks[0].topup == 1


def test_every_counter_key_expires_after_its_window(workspace, api_key, clock):
    # Redis keeps nothing forever: each counter lives until its window ends plus a margin
    # (an hour for calendar windows, a day for credits), a burst key while its state matters
    from apikeys.cache import keys

    set_policy(workspace, plan="t", burst={"limit": 5, "window": 1},
               meters={"requests": {"hour": 10}, "analysis_runs": {"credits": 5}})
    decision = run(workspace, key=keys.get(api_key[0].key_id), requests=1, analysis_runs=1)
    burst, hour, credits = decision.checks
    redis = get_redis()
    hour_ttl = (hour.end - clock.at) * 1000 + 3_600_000
    assert 0 < redis.pttl(burst.key) <= 1000 + 1000
    assert redis.pttl(hour.key) == pytest.approx(hour_ttl, abs=500)
    assert redis.pttl(credits.key) == pytest.approx((credits.end - clock.at) * 1000 + 86_400_000, abs=500)
    # a key counted again later keeps the expiry it was given first
    clock.advance(1)
    run(workspace, key=keys.get(api_key[0].key_id), requests=1, analysis_runs=1)
    assert redis.pttl(hour.key) == pytest.approx(hour_ttl, abs=500)


def test_more_windows_than_the_script_preallocates_are_checked_counted_and_given_back(workspace, api_key, clock):
    # check.lua makes its tables for up to 8 windows; this request is checked against 11:
    # burst, 3 meters x hour/day/month, and a credits allowance, in that order
    from apikeys.cache import keys

    key = keys.get(api_key[0].key_id)
    set_policy(workspace, plan="t", burst={"limit": 10, "window": 1}, meters={
        "requests": {"hour": 5, "day": 50, "month": 500},
        "tokens": {"hour": 100, "day": 400, "month": 4000},
        "pages": {"hour": 30, "day": 300, "month": 3000},
        "analysis_runs": {"credits": 9},
    })
    costs = {"requests": 1, "tokens": 10, "pages": 1, "analysis_runs": 2}
    ok = run(workspace, key=key, **costs)
    assert ok.admitted and len(ok.checks) == 11
    assert {c.name: c.used for c in ok.checks[1:]} == {
        "hour": 1, "day": 1, "month": 1, "tokens-hour": 10, "tokens-day": 10, "tokens-month": 10,
        "pages-hour": 1, "pages-day": 1, "pages-month": 1, "analysis_runs-credits": 2}
    assert ok.checks[0].name == "burst" and ok.checks[0].remaining == 9
    assert all(run(workspace, key=key, **costs).admitted for _ in range(3))
    # when the 11th window (the credits: 1 of 9 left, 2 asked) refuses, after phase 1 counted
    # the 9 calendar windows before it...
    refused = run(workspace, key=key, **costs)
    assert not refused.admitted and refused.refused.name == "analysis_runs-credits"
    assert refused.checks[-1].used == 8 and refused.first_refusal
    # ...it leaves nothing counted in any of them
    after = run(workspace, key=key, requests=1, tokens=0, pages=0, analysis_runs=0)
    assert after.admitted
    assert {c.name: c.used for c in after.checks[1:]} == {
        "hour": 5, "day": 5, "month": 5, "tokens-hour": 40, "tokens-day": 40, "tokens-month": 40,
        "pages-hour": 4, "pages-day": 4, "pages-month": 4, "analysis_runs-credits": 8}
    assert stream_len(workspace) == 5


@pytest.mark.parametrize("units", [0, -1, "3"])
def test_top_up_refuses_non_positive_or_non_integer_units(workspace, units):
    from core.errors import InvalidInput

    with pytest.raises(InvalidInput):
        credits_top_up(workspace=workspace, meter="analysis_runs", units=units)
    assert get_redis().get(redis_keys.topup(workspace.pk, "analysis_runs")) is None


def test_unlimited_meter_is_counted_without_checks(workspace, clock):
    set_policy(workspace, plan="t", meters={"requests": {}})
    decision = run(workspace, requests=1, tokens=7)
    assert decision.admitted and decision.checks == []
    assert stream_len(workspace) == 1


def test_usage_event_carries_request_key_endpoint_meters_and_time(workspace, api_key, clock):
    from apikeys.cache import keys

    set_policy(workspace, plan="t", meters={"requests": {"hour": 5}})
    engine.check(workspace=workspace, costs={"requests": 1, "tokens": 4}, request_id="req-1",
                 key=keys.get(api_key[0].key_id), endpoint="/api/v1/analyze")
    [(_id, fields)] = get_redis().xrange(redis_keys.usage_stream(workspace.pk))
    ts = str(int(clock.at * 1000))
    assert fields == {b"e": f"req-1\t{api_key[0].key_id}\trequests=1;tokens=4\t{ts}\t/api/v1/analyze".encode()}
    assert events.parse(fields) == {"rid": "req-1", "key": api_key[0].key_id, "ep": "/api/v1/analyze",
                                    "meters": [("requests", 1), ("tokens", 4)], "st": "admitted", "ts": int(ts)}


def test_the_drain_reads_both_event_forms_and_an_endpoint_holding_a_tab(workspace, clock):
    # given one event in the earlier six-field form (left in a stream across an upgrade) and
    # one in the current form whose endpoint holds a tab (a percent-decoded path)
    stream = redis_keys.usage_stream(workspace.pk)
    ts = int(clock.at * 1000)
    get_redis().xadd(stream, {"rid": "old-1", "key": "-", "ep": "/api/v1/analyze", "m": "requests=1;tokens=2",
                              "st": "admitted", "ts": str(ts)})
    engine.check(workspace=workspace, costs={"requests": 1}, request_id="new-1", endpoint="/api/v1/odd\tpath")
    # when the drain runs
    drain_all()
    # then every meter of both lands in the workspace's usage table, fields intact
    with schema_context(workspace.schema_name):
        rows = sorted(UsageEvent.objects.values_list("request_id", "key_id", "endpoint", "meter", "units"))
    assert rows == [("new-1", "", "/api/v1/odd\tpath", "requests", 1),
                    ("old-1", "", "/api/v1/analyze", "requests", 1), ("old-1", "", "/api/v1/analyze", "tokens", 2)]
    assert stream_len(workspace) == 0


def test_quota_crossings_are_reported_once_at_80_and_100_percent(workspace, clock):
    set_policy(workspace, plan="t", meters={"requests": {"hour": 5}})
    crossings = [[p for _, p in run(workspace).crossings] for _ in range(6)]
    assert crossings == [[], [], [], [80], [100], []]


def test_plan_change_applies_on_the_next_request(workspace, clock, committed):
    from billing.services import catalogue_ensure, subscription_set_plan

    catalogue_ensure()
    subscription_set_plan(workspace=workspace, plan_slug="free")
    assert run(workspace).checks[0].limit == 1000
    with committed():
        subscription_set_plan(workspace=workspace, plan_slug="pro")
    assert run(workspace).checks[0].limit == 10000


def test_operator_override_replaces_one_limit_and_keeps_the_rest(workspace, clock):
    from billing.services import catalogue_ensure, subscription_set_overrides, subscription_set_plan

    catalogue_ensure()
    subscription_set_plan(workspace=workspace, plan_slug="free")
    subscription_set_overrides(workspace=workspace, overrides={"meters": {"requests": {"hour": {"limit": 7}}}})
    by_name = {c.name: c for c in run(workspace).checks}
    assert by_name["hour"].limit == 7
    assert by_name["day"].limit == 10000


def test_new_workspace_without_a_policy_gets_the_default_plan(workspace, clock):
    decision = run(workspace)
    assert {c.name: c.limit for c in decision.checks} == {"hour": 1000, "day": 10000}


def test_a_prepared_plan_is_used_only_inside_its_windows(workspace, clock):
    # given a plan prepared and used two seconds before the hour (and day and month) turn over
    set_policy(workspace, plan="t", meters={"requests": {"hour": 2, "day": 100}})
    assert run(workspace).admitted and run(workspace).admitted
    assert not run(workspace).admitted
    # when the hour turns, the next request counts in the new hour's keys, not the cached ones
    clock.advance(2)
    fresh = run(workspace)
    assert fresh.admitted and fresh.checks[0].used == 1
    assert fresh.checks[0].key.endswith(f":hour:{int(clock.at)}")
    # and a clock set back (tests, a corrected host clock) is not served the later plan
    clock.advance(-2)
    assert not run(workspace).admitted
    assert len(get_redis().keys(redis_keys.quota_pattern(workspace.pk, "requests", "hour"))) == 2


def test_metered_refuses_a_cost_that_is_neither_a_count_nor_a_callable():
    from metering.decorators import metered

    for bad in ("1", -1, 1.5, None):
        with pytest.raises(TypeError, match="non-negative int, a callable of the request"):
            metered(requests=bad)
    assert callable(metered(requests=1, tokens=lambda request: 3))
