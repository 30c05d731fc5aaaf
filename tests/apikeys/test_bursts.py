"""A key's burst limit is at most the plan's (issue 18, findings 5 and 6).

A key created with `burst_limit: 1000000` on the free plan (20 per second) was admitted 100
times in 0.32 s, and `burst_limit: 10**12` was a 500 (NumericValueOutOfRange).
"""

from http import HTTPStatus

import pytest

from apikeys.models import ApiKey
from apikeys.services import apikey_rotate
from core.errors import DomainError
from metering.services import policy_set
from tests.apikeys.conftest import bearer, problem_of
from tests.conftest import client_for

KEYS = "/api/v1/keys"
FREE = {"plan": "free", "burst": {"limit": 20, "window": 1}, "meters": {}}


@pytest.fixture
def free_plan(workspace):
    policy_set(workspace=workspace, policy=FREE)


@pytest.mark.parametrize("burst_limit", [21, 1_000_000, 10**12])
def test_key_create_above_the_plans_burst_is_400_naming_the_plans_limit(api_client, admin_key, free_plan,
                                                                         burst_limit):
    # given
    _, admin_text = admin_key
    before = ApiKey.objects.count()
    # when
    response = api_client.post(KEYS, {"name": "greedy", "burst_limit": burst_limit}, format="json",
                               **bearer(admin_text))
    # then a clear problem that names the plan's burst, and no key
    assert response.status_code == HTTPStatus.BAD_REQUEST
    body = problem_of(response)
    assert body["code"] == "invalid_input"
    assert body["field"] == "burst_limit"
    assert "20" in body["detail"] and "free" in body["detail"]
    assert ApiKey.objects.count() == before


@pytest.mark.parametrize(("burst_limit", "burst_window"), [(20, 1), (1, 1), (20, 60)])
def test_key_create_within_the_plans_burst_is_created(api_client, admin_key, free_plan, burst_limit, burst_window):
    # given
    _, admin_text = admin_key
    # when
    response = api_client.post(KEYS, {"name": "polite", "burst_limit": burst_limit, "burst_window": burst_window},
                               format="json", **bearer(admin_text))
    # then
    assert response.status_code == HTTPStatus.CREATED, response.content
    assert (response.json()["burst_limit"], response.json()["burst_window"]) == (burst_limit, burst_window)


def test_key_create_per_minute_burst_is_bounded_by_the_plans_burst_size(api_client, admin_key, free_plan):
    # given the free plan's 20 per second: 21 at once, even spread over a minute, is more than it allows
    _, admin_text = admin_key
    # when
    response = api_client.post(KEYS, {"name": "sneaky", "burst_limit": 21, "burst_window": 60}, format="json",
                               **bearer(admin_text))
    # then
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert problem_of(response)["field"] == "burst_limit"


def test_key_create_per_second_burst_is_bounded_by_a_per_minute_plans_rate(api_client, admin_key, workspace):
    # given a plan of 120 per minute: 2 per second on average
    policy_set(workspace=workspace, policy={"plan": "steady", "burst": {"limit": 120, "window": 60}, "meters": {}})
    _, admin_text = admin_key
    # when
    too_fast = api_client.post(KEYS, {"name": "fast", "burst_limit": 3, "burst_window": 1}, format="json",
                               **bearer(admin_text))
    within = api_client.post(KEYS, {"name": "ok", "burst_limit": 2, "burst_window": 1}, format="json",
                             **bearer(admin_text))
    # then
    assert too_fast.status_code == HTTPStatus.BAD_REQUEST
    assert "2" in problem_of(too_fast)["detail"]
    assert within.status_code == HTTPStatus.CREATED


def test_key_create_without_a_plan_burst_is_bounded_by_the_column(api_client, admin_key, workspace):
    # given a plan with no burst limit at all
    policy_set(workspace=workspace, policy={"plan": "unlimited", "meters": {}})
    _, admin_text = admin_key
    # when
    huge = api_client.post(KEYS, {"name": "huge", "burst_limit": 10**12}, format="json", **bearer(admin_text))
    large = api_client.post(KEYS, {"name": "large", "burst_limit": 100_000}, format="json", **bearer(admin_text))
    # then
    assert huge.status_code == HTTPStatus.BAD_REQUEST
    assert problem_of(huge)["field"] == "burst_limit"
    assert large.status_code == HTTPStatus.CREATED


def test_key_create_on_the_page_above_the_plans_burst_shows_the_error_next_to_the_field(workspace, owner, free_plan):
    # given
    client = client_for(workspace, owner)
    # when
    response = client.post("/keys/new/", {"name": "greedy", "scopes": ["read"], "environment": "live",
                                          "burst_limit": "1000000", "burst_window": "1"})
    # then
    assert response.status_code == HTTPStatus.BAD_REQUEST
    errors = response.context["form"].errors
    assert "burst_limit" in errors
    assert "20" in " ".join(errors["burst_limit"])
    assert ApiKey.objects.filter(workspace=workspace).count() == 0


def test_key_create_on_the_page_with_a_huge_burst_shows_the_error(workspace, owner, free_plan):
    # when
    response = client_for(workspace, owner).post(
        "/keys/new/", {"name": "huge", "scopes": ["read"], "environment": "live", "burst_limit": str(10**12),
                       "burst_window": "1"})
    # then
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert "burst_limit" in response.context["form"].errors


def test_key_rotate_of_a_key_above_a_lowered_plan_drops_to_the_plans_burst(workspace, owner, make_key, free_plan, committed):
    # given a key made with a burst of 15 when the plan allowed 20, then the plan lowered to 5
    old, _ = make_key(burst_limit=15)
    with committed():
        policy_set(workspace=workspace, policy={**FREE, "burst": {"limit": 5, "window": 1}})
    # when it is rotated
    new, _ = apikey_rotate(key=old, actor=owner)
    # then the new key takes the plan's burst (what the old one got at request time), not an error
    assert new.burst_limit is None
    old.refresh_from_db()
    assert old.rotated_to == new


def test_key_rotate_keeps_a_burst_within_the_plan(workspace, owner, make_key, free_plan):
    # given
    old, _ = make_key(burst_limit=7, burst_window=60)
    # when
    new, _ = apikey_rotate(key=old, actor=owner)
    # then
    assert (new.burst_limit, new.burst_window) == (7, 60)


def test_key_create_service_checks_the_burst_for_every_caller(workspace, free_plan):
    # given no request at all (the management command, a script)
    from apikeys.services import apikey_create

    # when
    with pytest.raises(DomainError) as refused:
        apikey_create(workspace=workspace, name="script", burst_limit=21)
    # then
    assert refused.value.extra["field"] == "burst_limit"
