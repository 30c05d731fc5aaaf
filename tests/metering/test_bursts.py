"""Burst windows (issue 18, findings 5 and 6): a key's burst never exceeds the plan's, dashboard
sessions get a burst window of their own, and a 429 says which burst was hit and how to raise it."""

from http import HTTPStatus

from rest_framework.test import APIClient

from accounts.permissions import Role
from apikeys.cache import keys
from apikeys.models import ApiKey
from metering import engine
from tests.conftest import add_member, host_of
from tests.metering.conftest import set_policy

UPGRADE = "Upgrade to the Pro plan for a higher burst."


def _run(workspace, key=None, user_id=None):
    return engine.check(workspace=workspace, costs={"requests": 1}, request_id="r", key=key, user_id=user_id)


def _session(workspace, user) -> APIClient:
    client = APIClient(HTTP_HOST=host_of(workspace))
    client.force_login(user)
    return client


def _analyze(client, **kw):
    return client.post("/api/v1/analyze", {"text": "I love this"}, format="json", **kw)


# A key's burst is at most the plan's, also after the plan changes ------------------------------

def test_check_holds_a_key_to_a_plan_lowered_below_its_burst(workspace, owner, clock):
    # given a key made with a burst of 10 a minute (the plan then allowed 20 a minute)
    set_policy(workspace, plan="big", burst={"limit": 20, "window": 60}, meters={})
    row = ApiKey.objects.create(workspace=workspace, name="old", key_id="oldkey000001", digest="x" * 64,
                                scopes=["read"], burst_limit=10, burst_window=60)
    key = keys.get(row.key_id)
    # when the plan is lowered to 2 a minute
    set_policy(workspace, plan="small", burst={"limit": 2, "window": 60}, meters={})
    decisions = [_run(workspace, key=key) for _ in range(3)]
    # then the plan's 2 hold, not the key's 10
    assert [d.admitted for d in decisions] == [True, True, False]
    assert decisions[2].refused.name == "burst" and decisions[2].refused.limit == 2


def test_check_keeps_a_keys_own_tighter_burst(workspace, owner, clock):
    # given
    set_policy(workspace, plan="big", burst={"limit": 20, "window": 60}, meters={})
    row = ApiKey.objects.create(workspace=workspace, name="tight", key_id="tightkey0001", digest="x" * 64,
                                scopes=["read"], burst_limit=1, burst_window=60)
    # when
    decisions = [_run(workspace, key=keys.get(row.key_id)) for _ in range(2)]
    # then
    assert [d.admitted for d in decisions] == [True, False]
    assert decisions[1].refused.limit == 1


def test_plan_for_computes_the_effective_burst_once_per_plan_build(workspace, api_key, clock):
    # given a built plan
    set_policy(workspace, plan="t", burst={"limit": 5, "window": 1}, meters={})
    key = keys.get(api_key[0].key_id)
    first = _run(workspace, key=key).plan
    # when the next request comes with the same policy
    second = _run(workspace, key=key).plan
    # then it reuses the plan (the burst was not worked out again)
    assert second is first
    assert first.windows[0].limit == 5


# Dashboard sessions get a per-member burst window ----------------------------------------------

def test_session_calls_to_a_metered_endpoint_have_a_burst_window(workspace, member, clock):
    # given the plan's burst of 2 a minute, and a member calling /analyze with their session
    set_policy(workspace, plan="free", upgrade=UPGRADE, burst={"limit": 2, "window": 60},
               meters={"requests": {"hour": 1000}})
    client = _session(workspace, member)
    # when they call it three times
    responses = [_analyze(client) for _ in range(3)]
    # then the third is refused by the burst, which the headers announce too
    assert [r.status_code for r in responses] == [HTTPStatus.OK, HTTPStatus.OK, HTTPStatus.TOO_MANY_REQUESTS]
    assert responses[0]["RateLimit-Policy"].startswith('"burst";q=2;w=60')
    problem = responses[2].json()
    assert problem["violated-policies"] == ["burst"]
    assert "session" in problem["detail"]


def test_session_burst_windows_are_per_member(workspace, member, clock):
    # given a burst of 1 a minute
    set_policy(workspace, plan="free", burst={"limit": 1, "window": 60}, meters={})
    other = add_member(workspace, Role.MEMBER)
    # when two members call once each, then the first again
    first = _analyze(_session(workspace, member))
    second = _analyze(_session(workspace, other))
    again = _analyze(_session(workspace, member))
    # then each member has their own allowance
    assert (first.status_code, second.status_code, again.status_code) == (200, 200, 429)


def test_session_burst_does_not_touch_a_keys_burst(workspace, member, api_key, clock):
    # given a burst of 1 a minute, used up by the member's session
    set_policy(workspace, plan="free", burst={"limit": 1, "window": 60}, meters={})
    assert _analyze(_session(workspace, member)).status_code == HTTPStatus.OK
    # when a key calls
    response = _analyze(APIClient(HTTP_HOST="localhost"), HTTP_AUTHORIZATION=f"Bearer {api_key[1]}")
    # then the key's own window admits it
    assert response.status_code == HTTPStatus.OK


def test_session_burst_is_one_redis_round_trip(workspace, member, clock):
    # given
    set_policy(workspace, plan="free", burst={"limit": 5, "window": 1}, meters={"requests": {"hour": 100}})
    # when
    decision = _run(workspace, user_id=member.pk)
    # then burst and hour come from the one EVALSHA
    assert [c.name for c in decision.checks] == ["burst", "hour"]
    assert decision.checks[0].key.endswith(f":burst:user:{member.pk}")


# The 429 says which burst was hit ----------------------------------------------------------------

def test_refusal_by_a_keys_own_burst_does_not_advise_upgrading(workspace, owner, api_client, clock):
    # given a key whose own burst (1 a second) is under the plan's (20 a second)
    from apikeys.services import apikey_create

    set_policy(workspace, plan="free", upgrade=UPGRADE, burst={"limit": 20, "window": 1}, meters={})
    _, text = apikey_create(workspace=workspace, name="tight", burst_limit=1, actor=owner)
    _analyze(api_client, HTTP_AUTHORIZATION=f"Bearer {text}")
    # when
    problem = _analyze(api_client, HTTP_AUTHORIZATION=f"Bearer {text}").json()
    # then it names the key's burst limit and how to raise it, not the plan
    assert problem["code"] == "rate_limited" and problem["violated-policies"] == ["burst"]
    assert "key's own burst limit" in problem["detail"]
    assert "up to 20" in problem["detail"]
    assert "Upgrade" not in problem["detail"]
    assert problem["upgrade"] is None


def test_refusal_by_the_plans_burst_advises_upgrading(workspace, api_key, api_client, clock):
    # given a key without a burst of its own, on a plan allowing 1 a second
    set_policy(workspace, plan="free", upgrade=UPGRADE, burst={"limit": 1, "window": 1}, meters={})
    _analyze(api_client, HTTP_AUTHORIZATION=f"Bearer {api_key[1]}")
    # when
    problem = _analyze(api_client, HTTP_AUTHORIZATION=f"Bearer {api_key[1]}").json()
    # then
    assert problem["violated-policies"] == ["burst"]
    assert "free plan" in problem["detail"] and UPGRADE in problem["detail"]
    assert problem["upgrade"] == UPGRADE


def test_limits_for_a_session_shows_the_members_burst_window(workspace, member, clock):
    # given a member who used one of the plan's 2 a minute with their session
    set_policy(workspace, plan="free", burst={"limit": 2, "window": 60}, meters={"requests": {"hour": 100}})
    client = _session(workspace, member)
    _analyze(client)
    # when they read their limits
    limits = {item["name"]: item for item in client.get("/api/v1/limits").json()["limits"]}
    # then the burst window is there, counting their call
    assert limits["burst"]["limit"] == 2 and limits["burst"]["used"] == 1
