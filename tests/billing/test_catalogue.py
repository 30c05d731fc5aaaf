"""The catalogue: the free plan is metering's fallback, a plan's terms are validated, a plan
change sets the workspace's features and member limit, and inviting past the limit is refused."""

import html
from http import HTTPStatus

import pytest
from django.core.exceptions import ValidationError

from accounts.limits import MemberLimitReached
from accounts.models import Invitation, Membership
from accounts.permissions import Role
from accounts.services.invitations import invitation_create
from billing.models import Plan
from billing.services import plan_policy, subscription_set_plan
from metering.policy import FALLBACK_POLICY, validate
from tests.conftest import add_member, client_for


def test_free_plan_policy_is_metering_fallback_rule(catalogue):
    policy = validate(plan_policy(plan=catalogue["free"]))
    fallback = validate(FALLBACK_POLICY)
    assert (policy["burst"], policy["meters"]) == (fallback["burst"], fallback["meters"])


def test_startup_annual_price_includes_more_credits(catalogue):
    monthly = plan_policy(plan=catalogue["startup"])
    annual = plan_policy(plan=catalogue["startup"], interval="year")
    assert monthly["meters"]["analysis_runs"]["credits"] == 300
    assert annual["meters"]["analysis_runs"]["credits"] == 350


def test_pro_requests_are_billed_past_the_included_not_refused(catalogue):
    # requests carry an overage price: no credits window, no monthly cap without a spend cap
    assert plan_policy(plan=catalogue["pro"])["meters"]["requests"] == {"hour": {"limit": 10000, "hard": True}}


def test_subscription_set_plan_sets_features_and_member_limit(workspace, catalogue):
    subscription_set_plan(workspace=workspace, plan_slug="enterprise")
    workspace.refresh_from_db()
    assert workspace.features == {"custom_branding": True, "custom_domain": True, "sso": True,
                                  "priority_support": True}
    assert workspace.member_limit is None
    subscription_set_plan(workspace=workspace, plan_slug="free")
    workspace.refresh_from_db()
    assert workspace.features["custom_branding"] is False and workspace.member_limit == 3


@pytest.mark.parametrize(("field", "value"), [
    ("overage", {"requests": {"model": "package", "package_size": 0, "amount": 5}}),
    ("overage", {"tokens": {"model": "per_unit", "unit_amount": 1}}),  # no included units for tokens
    ("included", {"requests": -5}),
    ("limits", {"meters": {"requests": {"fortnight": 5}}}),
    ("annual_price_cents", 10**6),
])
def test_plan_clean_refuses_bad_terms_next_to_the_field(catalogue, field, value):
    plan = Plan.objects.get(slug="pro")
    setattr(plan, field, value)
    with pytest.raises(ValidationError) as exc:
        plan.full_clean()
    assert field in exc.value.message_dict


def test_inviting_past_the_plan_member_limit_is_refused_with_the_upgrade_path(workspace, owner, catalogue):
    # given Free (3 members): the owner, one member, one pending invitation
    subscription_set_plan(workspace=workspace, plan_slug="free")
    workspace.refresh_from_db()
    add_member(workspace, Role.MEMBER)
    actor = Membership.objects.get(workspace=workspace, user=owner)
    invitation_create(workspace=workspace, email="third@example.test", role=Role.MEMBER, actor=actor)
    # when a fourth is invited
    with pytest.raises(MemberLimitReached) as exc:
        invitation_create(workspace=workspace, email="fourth@example.test", role=Role.MEMBER, actor=actor)
    # then refused, saying how to get more; re-inviting the pending one still works
    assert "allows 3 members" in exc.value.detail and "/billing/" in exc.value.detail
    assert not Invitation.objects.filter(email="fourth@example.test").exists()
    invitation_create(workspace=workspace, email="third@example.test", role=Role.MEMBER, actor=actor)


def test_members_page_shows_the_member_limit_next_to_the_form(workspace, owner, catalogue):
    subscription_set_plan(workspace=workspace, plan_slug="free")
    add_member(workspace, Role.MEMBER)
    add_member(workspace, Role.MEMBER)
    response = client_for(workspace, owner).post("/members/", {"email": "x@example.test", "role": "member"})
    assert response.status_code in (HTTPStatus.OK, HTTPStatus.BAD_REQUEST, HTTPStatus.PAYMENT_REQUIRED)
    assert "allows 3 members" in html.unescape(response.content.decode())
    assert not Invitation.objects.filter(email="x@example.test").exists()
