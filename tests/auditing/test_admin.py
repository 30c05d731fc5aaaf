"""Operators read platform events in Django admin; nobody can change them there."""

import pytest

from auditing.models import AuditEvent
from auditing.services import record
from tests.conftest import client_for
from tests.factories import UserFactory


@pytest.fixture
def operator():
    return UserFactory(email="ops@tollgate.test", is_staff=True, is_superuser=True)


def test_admin_lists_platform_events_for_operators(operator, workspace):
    # given a platform event and a workspace event
    record(action="user_signup", details={"workspace": "platform-side"})
    record(action="login", workspace=workspace, details={"where": "workspace-side"})
    # when an operator opens the audit events in admin on the public host
    response = client_for(None, operator).get("/admin/auditing/auditevent/")
    # then the platform's events are listed (the workspace's live in its own schema)
    assert response.status_code == 200
    page = response.content.decode()
    assert "user_signup" in page and "workspace_created" in page
    assert "workspace-side" not in page


def test_admin_cannot_add_change_or_delete_events(operator):
    # given a platform event
    event = record(action="user_signup")
    client = client_for(None, operator)
    # when an operator tries to add, edit or delete one
    add = client.get("/admin/auditing/auditevent/add/")
    edit = client.post(f"/admin/auditing/auditevent/{event.pk}/change/", {"action": "logout"})
    delete = client.post(f"/admin/auditing/auditevent/{event.pk}/delete/", {"post": "yes"})
    # then admin offers none of it, and the event is unchanged
    assert add.status_code == 403 and edit.status_code == 403 and delete.status_code == 403
    assert AuditEvent.objects.get(pk=event.pk).action == "user_signup"


def test_admin_is_closed_to_non_operators(owner):
    # given a workspace owner who is not staff
    # when they open the platform's audit events
    response = client_for(None, owner).get("/admin/auditing/auditevent/")
    # then they are sent to the admin login
    assert response.status_code == 302 and "/admin/login/" in response["Location"]
