"""A workspace always keeps an active owner: the last one can't be demoted, suspended or removed."""

import threading
import time
from http import HTTPStatus

import pytest
from django.db import connection, transaction

from accounts.errors import LastOwner
from accounts.models import Membership
from accounts.permissions import Role
from accounts.selectors import lock_owners
from accounts.services import membership_change_role, membership_remove
from tests.accounts.helpers import committed, flash_messages, membership_state
from tests.conftest import add_member, client_for, make_workspace

LAST_OWNER = "This is the workspace's last owner. Make someone else an owner first."


def _active_owners(workspace) -> list[int]:
    return list(
        Membership.objects.filter(workspace=workspace, role=Role.OWNER, status=Membership.Status.ACTIVE)
        .order_by("pk").values_list("user_id", flat=True)
    )


def test_last_owner_cannot_demote_themselves(workspace, owner, admin_user):
    # given acme's only owner
    mine = Membership.objects.get(user=owner)
    before = membership_state()
    # when they try to become an admin
    response = client_for(workspace, owner).post(f"/members/{mine.pk}/role/", {"role": Role.ADMIN}, follow=True)
    # then they are told why, and stay owner
    assert ("error", LAST_OWNER) in flash_messages(response)
    assert membership_state() == before


def test_last_owner_cannot_remove_themselves(workspace, owner):
    # given the only owner
    mine = Membership.objects.get(user=owner)
    before = membership_state()
    # when they remove themselves: the members page refuses anyone's own row (issue 23), and the
    # service, which lets others leave, refuses the last owner
    response = client_for(workspace, owner).post(f"/members/{mine.pk}/remove", follow=True)
    with pytest.raises(LastOwner, match="last owner"):
        membership_remove(membership=mine, actor=mine)
    # then nothing changed
    assert response.status_code == 403
    assert membership_state() == before


def test_last_owner_cannot_be_suspended(workspace, owner, admin_user):
    # given the only owner; owners are managed by owners only, and nobody suspends themselves
    mine = Membership.objects.get(user=owner)
    before = membership_state()
    # when the owner and an admin try
    by_self = client_for(workspace, owner).post(f"/members/{mine.pk}/suspend/")
    by_admin = client_for(workspace, admin_user).post(f"/members/{mine.pk}/suspend/")
    # then
    assert by_self.status_code == HTTPStatus.FORBIDDEN
    assert b"You can&#x27;t suspend yourself." in by_self.content
    assert by_admin.status_code == HTTPStatus.FORBIDDEN
    assert membership_state() == before


def test_a_suspended_owner_does_not_count_as_another_owner(workspace, owner):
    # given a second owner who is suspended
    second = Membership.objects.get(user=add_member(workspace, Role.OWNER, email="second@acme.test"))
    Membership.objects.filter(pk=second.pk).update(status=Membership.Status.SUSPENDED)
    mine = Membership.objects.get(user=owner)
    # when the only active owner tries to step down
    response = client_for(workspace, owner).post(f"/members/{mine.pk}/role/", {"role": Role.MEMBER}, follow=True)
    # then
    assert ("error", LAST_OWNER) in flash_messages(response)
    assert _active_owners(workspace) == [owner.pk]


def test_owner_can_step_down_demote_suspend_and_remove_once_a_second_owner_exists(workspace, owner):
    # given two owners
    second_user = add_member(workspace, Role.OWNER, email="second@acme.test")
    mine, second = Membership.objects.get(user=owner), Membership.objects.get(user=second_user)
    client = client_for(workspace, owner)
    # when / then the first may suspend and reactivate the second
    assert client.post(f"/members/{second.pk}/suspend/").status_code == HTTPStatus.FOUND
    assert Membership.objects.get(pk=second.pk).status == Membership.Status.SUSPENDED
    assert client.post(f"/members/{second.pk}/reactivate/").status_code == HTTPStatus.FOUND
    # and may step down, which leaves the second as the one owner
    client.post(f"/members/{mine.pk}/role/", {"role": Role.ADMIN})
    assert _active_owners(workspace) == [second_user.pk]
    # and the second can now neither leave nor be removed by the former owner
    client_for(workspace, second_user).post(f"/members/{second.pk}/remove")
    assert client.post(f"/members/{second.pk}/remove").status_code == HTTPStatus.FORBIDDEN
    assert _active_owners(workspace) == [second_user.pk]
    # but can remove the former owner
    client_for(workspace, second_user).post(f"/members/{mine.pk}/remove")
    assert not Membership.objects.filter(pk=mine.pk).exists()


def test_owner_can_remove_another_owner(workspace, owner):
    # given
    second = Membership.objects.get(user=add_member(workspace, Role.OWNER, email="second@acme.test"))
    # when
    response = client_for(workspace, owner).post(f"/members/{second.pk}/remove")
    # then
    assert response.status_code == HTTPStatus.FOUND
    assert _active_owners(workspace) == [owner.pk]


def _waiting_on_locks() -> int:
    with connection.cursor() as cursor:
        cursor.execute("SELECT pg_stat_clear_snapshot()")  # stats views are snapshotted per transaction
        cursor.execute(
            "SELECT count(*) FROM pg_stat_activity WHERE datname = current_database() "
            "AND wait_event_type = 'Lock' AND pid <> pg_backend_pid()"
        )
        return cursor.fetchone()[0]


@committed
def test_two_owners_demoting_each_other_at_once_leave_one_owner(public_data_restored, committed_schemas):
    # given two owners, committed, so two other connections can see them (hence not the shared `workspace`)
    workspace = make_workspace("acme")
    first = Membership.objects.get(user=add_member(workspace, Role.OWNER, email="first@acme.test"))
    second = Membership.objects.get(user=add_member(workspace, Role.OWNER, email="second@acme.test"))
    results: dict[str, object] = {}

    def demote(name, target, actor):
        try:
            membership_change_role(membership=target, role=Role.ADMIN, actor=actor)
            results[name] = "demoted"
        except LastOwner as exc:
            results[name] = exc
        finally:
            connection.close()

    threads = [threading.Thread(target=demote, args=("first demotes second", second, first)),
               threading.Thread(target=demote, args=("second demotes first", first, second))]

    # when both demotions start while the owner rows are held, so both are queued on the same lock
    with transaction.atomic():
        lock_owners(workspace=workspace)
        for thread in threads:
            thread.start()
        deadline = time.monotonic() + 10
        while _waiting_on_locks() < 2:
            assert time.monotonic() < deadline, "the two demotions never both waited on the owner rows"
            time.sleep(0.01)
    for thread in threads:
        thread.join(timeout=10)

    # then exactly one went through and the other was refused: one owner is left
    assert sorted(map(str, results.values())) == sorted(["demoted", LAST_OWNER])
    assert len(_active_owners(workspace)) == 1
    assert Membership.objects.filter(workspace=workspace, role=Role.ADMIN).count() == 1
