"""The role matrix, through the members page: each role x each member action.

Allowed actions succeed and take effect; forbidden ones are a 403 page and change nothing.
What is allowed comes from accounts.permissions.MATRIX itself, so the page and the
matrix cannot drift apart.
"""

from http import HTTPStatus

from accounts.models import Invitation, Membership
from accounts.permissions import MATRIX, Role, can
from tests.accounts.helpers import flash_messages, invitation_state, membership_state
from tests.conftest import add_member, client_for


def _invite(client, target):
    return client.post("/members/", {"email": f"invitee-{target.pk}@acme.test", "role": Role.MEMBER})


def _change_role(client, target):
    return client.post(f"/members/{target.pk}/role/", {"role": Role.MANAGER})


def _suspend(client, target):
    return client.post(f"/members/{target.pk}/suspend/")


def _reactivate(client, target):
    return client.post(f"/members/{target.pk}/reactivate/")


def _remove(client, target):
    return client.post(f"/members/{target.pk}/remove")


def _invited(target):
    return Invitation.objects.filter(email=f"invitee-{target.pk}@acme.test", accepted_at=None, revoked_at=None).exists()


def _role_changed(target):
    return Membership.objects.get(pk=target.pk).role == Role.MANAGER


def _suspended(target):
    return Membership.objects.get(pk=target.pk).status == Membership.Status.SUSPENDED


def _reactivated(target):
    return Membership.objects.get(pk=target.pk).status == Membership.Status.ACTIVE


def _removed(target):
    return not Membership.objects.filter(pk=target.pk).exists()


# page action -> (matrix action, request, "it happened")
PAGE_ACTIONS = {
    "invite": ("members.invite", _invite, _invited),
    "change_role": ("members.change_role", _change_role, _role_changed),
    "suspend": ("members.suspend", _suspend, _suspended),
    "reactivate": ("members.suspend", _reactivate, _reactivated),
    "remove": ("members.remove", _remove, _removed),
}


def test_every_member_action_of_the_matrix_is_on_the_members_page():
    # given the matrix's member actions / then each one is exercised by the test below
    members_actions = {a for a in MATRIX if a.startswith("members.")} - {"members.view"}
    assert members_actions == {matrix_action for matrix_action, _, _ in PAGE_ACTIONS.values()}


def test_members_page_action_follows_the_matrix(subtests, workspace, owner):
    # one workspace for all 20 cases (a clone per case would be slow); each case acts
    # with its own actor on its own target, so cases can't see each other's effects
    for role in Role:
        for action, (matrix_action, perform, happened) in PAGE_ACTIONS.items():
            with subtests.test(role=role, action=action):
                # given an actor with `role` and a plain member to act on
                actor = add_member(workspace, role, email=f"{role}-{action}@acme.test")
                target = Membership.objects.get(user=add_member(workspace, Role.MEMBER))
                if action == "reactivate":
                    Membership.objects.filter(pk=target.pk).update(status=Membership.Status.SUSPENDED)
                before = (membership_state(), invitation_state())

                # when
                response = perform(client_for(workspace, actor), target)

                # then
                if can(role, matrix_action):
                    assert response.status_code == HTTPStatus.FOUND, response.content
                    assert response["Location"] == "/members/"
                    assert happened(target)
                else:
                    assert response.status_code == HTTPStatus.FORBIDDEN
                    assert b"Your role does not allow" in response.content
                    assert (membership_state(), invitation_state()) == before


def test_members_page_is_visible_to_every_role_with_controls_only_for_admins(subtests, workspace, owner):
    add_member(workspace, Role.MEMBER, email="colleague@acme.test")  # a row with controls (never on your own)
    for role in Role:
        with subtests.test(role=role):
            # given
            actor = owner if role == Role.OWNER else add_member(workspace, role, email=f"{role}@acme.test")
            # when
            response = client_for(workspace, actor).get("/members/")
            # then
            assert response.status_code == HTTPStatus.OK
            assert b"owner@acme.test" in response.content
            assert (b"Send invitation" in response.content) == can(role, "members.invite")
            assert (b'action="/members/' in response.content) == can(role, "members.change_role")


def test_suspended_member_is_refused_and_removed_member_is_gone(workspace, owner, admin_user, member):
    # given an admin who suspends one member and removes another
    other = add_member(workspace, Role.MEMBER, email="other@acme.test")
    admin = client_for(workspace, admin_user)
    admin.post(f"/members/{Membership.objects.get(user=member).pk}/suspend/")
    admin.post(f"/members/{Membership.objects.get(user=other).pk}/remove")
    # when they open the dashboard
    suspended_page = client_for(workspace, member).get("/")
    removed_page = client_for(workspace, other).get("/")
    # then
    assert suspended_page.status_code == HTTPStatus.FORBIDDEN
    assert b"Your membership in this workspace is suspended." in suspended_page.content
    assert removed_page.status_code == HTTPStatus.NOT_FOUND


def test_suspended_admin_can_do_nothing(workspace, owner, admin_user, member):
    # given a suspended admin
    Membership.objects.filter(user=admin_user).update(status=Membership.Status.SUSPENDED)
    target = Membership.objects.get(user=member)
    before = membership_state()
    # when
    response = _suspend(client_for(workspace, admin_user), target)
    # then
    assert response.status_code == HTTPStatus.FORBIDDEN
    assert membership_state() == before


def test_admin_cannot_act_on_an_owner(subtests, workspace, owner, admin_user):
    # given
    target = Membership.objects.get(user=owner)
    before = membership_state()
    for action in ("change_role", "suspend", "remove"):
        with subtests.test(action=action):
            # when
            response = PAGE_ACTIONS[action][1](client_for(workspace, admin_user), target)
            # then
            assert response.status_code == HTTPStatus.FORBIDDEN
            assert b"Only an owner can" in response.content
            assert membership_state() == before


def test_admin_cannot_grant_owner(workspace, owner, admin_user, member):
    # given
    target = Membership.objects.get(user=member)
    before = membership_state()
    # when
    response = client_for(workspace, admin_user).post(f"/members/{target.pk}/role/", {"role": Role.OWNER})
    # then
    assert response.status_code == HTTPStatus.FORBIDDEN
    assert b"Only an owner can grant or take away the owner role." in response.content
    assert membership_state() == before


def test_admin_cannot_invite_an_owner(workspace, owner, admin_user):
    # when
    response = client_for(workspace, admin_user).post("/members/", {"email": "boss@acme.test", "role": Role.OWNER})
    # then
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert b"Only an owner can invite another owner." in response.content
    assert not Invitation.objects.exists()


def test_owner_can_grant_owner(workspace, owner, admin_user):
    # given
    target = Membership.objects.get(user=admin_user)
    # when
    response = client_for(workspace, owner).post(f"/members/{target.pk}/role/", {"role": Role.OWNER}, follow=True)
    # then
    assert Membership.objects.get(pk=target.pk).role == Role.OWNER
    assert ("success", "admin@acme.test is now owner.") in flash_messages(response)


def test_any_member_may_leave_the_workspace(workspace, owner, member):
    # given a member
    mine = Membership.objects.get(user=member)
    # when they leave from their settings (the members page's "remove" is never on your own row)
    response = client_for(workspace, member).post("/settings/leave/")
    # then they are no longer a member
    assert response.status_code == HTTPStatus.OK and b"You left Acme" in response.content
    assert not Membership.objects.filter(pk=mine.pk).exists()


def test_unknown_status_action_is_404_and_changes_nothing(workspace, owner, member):
    # given a suspended member
    target = Membership.objects.get(user=member)
    Membership.objects.filter(pk=target.pk).update(status=Membership.Status.SUSPENDED)
    before = membership_state()
    # when an owner posts to a made-up action
    response = client_for(workspace, owner).post(f"/members/{target.pk}/promote-to-god/")
    # then
    assert response.status_code == HTTPStatus.NOT_FOUND
    assert membership_state() == before


def test_role_change_to_an_unknown_role_says_so_and_changes_nothing(subtests, workspace, owner, member):
    # given
    target = Membership.objects.get(user=member)
    before = membership_state()
    for data in ({"role": "superuser"}, {"role": ""}, {"role": "OWNER"}, {}):
        with subtests.test(data=data):
            # when
            response = client_for(workspace, owner).post(f"/members/{target.pk}/role/", data, follow=True)
            # then
            assert ("error", "Choose one of the roles in the list.") in flash_messages(response)
            assert membership_state() == before
