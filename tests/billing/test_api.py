"""GET /api/v1/billing/plans, /preview, GET/PUT /spend-cap; workspace B sees nothing of A."""

from datetime import date
from http import HTTPStatus

import pytest
from django.utils import timezone

from accounts.permissions import Role
from billing.models import Subscription
from tests.billing.conftest import metered_plan, subscribe, usage
from tests.conftest import add_member, client_for


def get(client, path, key):
    return client.get(path, HTTP_AUTHORIZATION=f"Bearer {key}")


def test_plans_are_public_and_carry_their_terms(api_client, catalogue):
    response = api_client.get("/api/v1/billing/plans")
    assert response.status_code == HTTPStatus.OK
    plans = {p["slug"]: p for p in response.json()["data"]}
    assert list(plans) == ["free", "startup", "pro", "enterprise"]
    assert (plans["startup"]["monthly_price_cents"], plans["startup"]["annual_price_cents"]) == (4900, 49900)
    assert plans["startup"]["included"] == {"analysis_runs": 300}
    assert plans["startup"]["included_annual"] == {"analysis_runs": 350}
    assert plans["pro"]["overage"]["requests"] == {"model": "package", "package_size": 1000, "amount": 5}
    assert plans["enterprise"]["features"]["sso"] is True and plans["free"]["features"]["sso"] is False


def test_preview_is_this_month_as_it_stands(workspace, api_key, api_client, catalogue):
    # given Pro with 1,000,500 requests so far this month
    subscribe(workspace, "pro")
    usage(workspace, timezone.now().date(), "requests", 1_000_500)
    # when
    body = get(api_client, "/api/v1/billing/preview", api_key[1]).json()
    # then the base fee and one started package of overage
    assert body["plan"] == "pro" and body["usage"] == {"requests": 1_000_500}
    assert body["total_cents"] == 9900 + 5 == sum(li["amount_cents"] for li in body["lines"])
    assert body["period_start"] == str(timezone.now().date().replace(day=1))


def test_preview_on_another_plan_uses_the_same_usage(workspace, api_key, api_client, catalogue):
    subscribe(workspace, "pro")
    usage(workspace, timezone.now().date(), "requests", 12_000_000)
    body = get(api_client, "/api/v1/billing/preview?plan=enterprise", api_key[1]).json()
    assert body["plan"] == "enterprise"
    assert body["total_cents"] == 99900 + 2000 * 2  # 2,000 packages of 1,000 over 10,000,000 at 2 cents


def test_preview_refuses_an_unknown_plan(workspace, api_key, api_client, catalogue):
    response = get(api_client, "/api/v1/billing/preview?plan=platinum", api_key[1])
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response["Content-Type"].startswith("application/problem+json")
    assert "Unknown plan 'platinum'" in response.json()["detail"] and "pro" in response.json()["detail"]


@pytest.mark.parametrize("plan", ["%00", "x" * 500, "pro%20pro", ""])
def test_preview_refuses_a_malformed_plan_without_asking_the_database(workspace, api_key, api_client, plan):
    response = get(api_client, f"/api/v1/billing/preview?plan={plan}", api_key[1])
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert response.json()["code"] == "invalid_input"


def test_preview_needs_a_key(api_client):
    assert api_client.get("/api/v1/billing/preview").status_code in (HTTPStatus.UNAUTHORIZED, HTTPStatus.FORBIDDEN)


def test_spend_cap_put_takes_an_admin_key(workspace, api_key, admin_key, api_client, catalogue, committed):
    metered_plan()
    subscribe(workspace, "metered")
    refused = api_client.put("/api/v1/billing/spend-cap", {"cap_cents": 30}, format="json",
                             HTTP_AUTHORIZATION=f"Bearer {api_key[1]}")
    assert refused.status_code == HTTPStatus.FORBIDDEN
    with committed():
        response = api_client.put("/api/v1/billing/spend-cap", {"cap_cents": 30}, format="json",
                                  HTTP_AUTHORIZATION=f"Bearer {admin_key[1]}")
    assert response.status_code == HTTPStatus.OK
    assert response.json() == {"cap_cents": 30, "plan": "metered", "limits": {"requests": 8}}
    assert get(api_client, "/api/v1/billing/spend-cap", api_key[1]).json()["cap_cents"] == 30


@pytest.mark.parametrize("body", [{"cap_cents": -1}, {"cap_cents": "lots"}, {}, {"cap_cents": 10**12}])
def test_spend_cap_put_refuses_bad_input(workspace, admin_key, api_client, catalogue, body):
    metered_plan()
    subscribe(workspace, "metered")
    response = api_client.put("/api/v1/billing/spend-cap", body, format="json",
                              HTTP_AUTHORIZATION=f"Bearer {admin_key[1]}")
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert Subscription.objects.get(workspace=workspace).spend_cap_cents is None


def test_spend_cap_put_by_session_needs_billing_manage(workspace, catalogue):
    metered_plan()
    subscribe(workspace, "metered")
    admin = add_member(workspace, Role.ADMIN)
    client = client_for(workspace, admin)
    response = client.put("/api/v1/billing/spend-cap", {"cap_cents": 30}, content_type="application/json")
    assert response.status_code == HTTPStatus.FORBIDDEN
    assert Subscription.objects.get(workspace=workspace).spend_cap_cents is None


def test_no_billing_data_of_b_visible_to_a(workspace, other_workspace, api_key, api_client, catalogue):
    # given B has usage and a cap; A has none
    metered_plan()
    subscribe(other_workspace, "metered")
    Subscription.objects.filter(workspace=other_workspace).update(spend_cap_cents=99)
    usage(other_workspace, timezone.now().date(), "requests", 777)
    usage(other_workspace, date(2026, 11, 2), "requests", 555)
    # when A's key asks
    preview = get(api_client, "/api/v1/billing/preview", api_key[1]).json()
    cap = get(api_client, "/api/v1/billing/spend-cap", api_key[1]).json()
    # then nothing of B's
    assert preview["usage"] == {} and cap["cap_cents"] is None
    # and A's key with B's host is refused
    response = api_client.get("/api/v1/billing/preview", HTTP_AUTHORIZATION=f"Bearer {api_key[1]}",
                              HTTP_HOST=f"{other_workspace.slug}.localhost")
    assert response.status_code == HTTPStatus.FORBIDDEN
