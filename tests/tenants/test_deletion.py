"""Deleting a workspace for good: an operator's confirmed action (service, command, admin)."""

from http import HTTPStatus
from io import StringIO

import pytest
from django.core.management import CommandError, call_command
from django.db import connection
from django.test import Client

from accounts.models import Invitation, Membership
from accounts.permissions import Role
from accounts.services import invitation_create
from apikeys.models import ApiKey
from auditing.models import AuditEvent
from core.errors import InvalidInput, NotFound
from tenants.models import Domain, Workspace
from tenants.services import domain_add, workspace_delete
from tests.factories import UserFactory


@pytest.fixture
def operator():
    return UserFactory(email="ops@tollgate.test", is_staff=True, is_superuser=True)


@pytest.fixture
def populated(workspace, owner, api_key):
    """acme with an owner, a key, a custom domain and a pending invitation."""
    domain_add(workspace=workspace, domain="api.acme.test", actor=owner)
    invitation_create(workspace=workspace, email="new@acme.test", role=Role.MEMBER,
                      actor=Membership.objects.get(user=owner, workspace=workspace))
    return workspace


def _schema_exists(name: str) -> bool:
    with connection.cursor() as cursor:
        cursor.execute("SELECT 1 FROM pg_namespace WHERE nspname = %s", [name])
        return cursor.fetchone() is not None


def _rows(workspace) -> dict[str, int]:
    return {
        "workspace": Workspace.objects.filter(pk=workspace.pk).count(),
        "members": Membership.objects.filter(workspace_id=workspace.pk).count(),
        "keys": ApiKey.objects.filter(workspace_id=workspace.pk).count(),
        "domains": Domain.objects.filter(tenant_id=workspace.pk).count(),
        "invitations": Invitation.objects.filter(workspace_id=workspace.pk).count(),
    }


def _admin(user) -> Client:
    client = Client(HTTP_HOST="localhost")
    client.force_login(user)
    return client



def _tables(schema: str) -> int:
    """What the confirmation should count: the schema's tables that hold rows (partitions, not their parent)."""
    with connection.cursor() as cursor:
        cursor.execute("SELECT count(*) FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace "
                       "WHERE n.nspname = %s AND c.relkind = 'r'", [schema])
        return cursor.fetchone()[0]

def test_workspace_delete_drops_the_schema_and_removes_keys_domains_and_memberships(populated, other_workspace):
    # given a workspace in use, and another one
    assert _rows(populated) == {"workspace": 1, "members": 1, "keys": 1, "domains": 1, "invitations": 1}

    # when an operator deletes it, typing its slug
    deleted = workspace_delete(workspace=populated, confirm="acme", actor=("operator", "ops@tollgate.test"))

    # then its schema and every row hanging on it are gone, and nothing of the other workspace
    assert not _schema_exists("ws_acme")
    assert _rows(populated) == dict.fromkeys(("workspace", "members", "keys", "domains", "invitations"), 0)
    assert deleted["tenants.Workspace"] == 1 and deleted["apikeys.ApiKey"] == 1 and deleted["tenants.Domain"] == 1
    assert _schema_exists(other_workspace.schema_name)
    # and the platform's audit trail says who did it and what went
    event = AuditEvent.objects.get(action="workspace_deleted")
    assert (event.severity, event.actor_type, event.resource_id) == ("critical", "operator", str(populated.pk))
    assert event.details["schema"] == "ws_acme" and event.details["deleted"]["accounts.Membership"] == 1


def test_workspace_delete_refuses_without_its_slug_typed_and_changes_nothing(populated):
    # when the confirmation is missing or names another workspace
    for typed in ("", "globex", "acm"):
        with pytest.raises(InvalidInput, match=r"Type the workspace's address \(acme\)"):
            workspace_delete(workspace=populated, confirm=typed, actor=("operator", "ops"))
    # then nothing changed
    assert _schema_exists("ws_acme")
    assert _rows(populated) == {"workspace": 1, "members": 1, "keys": 1, "domains": 1, "invitations": 1}
    assert not AuditEvent.objects.filter(action="workspace_deleted").exists()


def test_workspace_delete_of_a_workspace_already_deleted_is_not_found(workspace):
    # given it was deleted a moment ago (another operator)
    stale = Workspace.objects.get(pk=workspace.pk)
    workspace_delete(workspace=workspace, confirm="acme", actor=("operator", "ops"))
    # when / then
    with pytest.raises(NotFound):
        workspace_delete(workspace=stale, confirm="acme", actor=("operator", "ops"))


def test_deleting_the_row_any_other_way_never_drops_the_schema(workspace):
    # given django-tenants' auto_drop_schema, which stays off
    assert Workspace.auto_drop_schema is False
    # when the row is deleted without workspace_delete
    Workspace.objects.filter(pk=workspace.pk).delete()
    # then the data is still there for an operator to look at
    assert _schema_exists("ws_acme")


def test_delete_workspace_command_shows_what_goes_and_deletes_only_when_confirmed(populated):
    # when run without --confirm
    out = StringIO()
    with pytest.raises(CommandError, match="Nothing deleted.*--confirm acme"):
        call_command("delete_workspace", slug="acme", stdout=out)
    # then it says what would go and keeps it all
    assert f"schema ws_acme ({_tables('ws_acme')} tables" in out.getvalue() and "1 api keys" in out.getvalue()
    assert _schema_exists("ws_acme")

    # when the slug is repeated wrong, then right
    with pytest.raises(CommandError, match="Type the workspace's address"):
        call_command("delete_workspace", slug="acme", confirm="globex", stdout=StringIO())
    out = StringIO()
    call_command("delete_workspace", slug="acme", confirm="acme", stdout=out)

    # then it is gone, and the command says so
    assert "Deleted workspace acme: schema ws_acme dropped" in out.getvalue()
    assert not _schema_exists("ws_acme")
    assert AuditEvent.objects.get(action="workspace_deleted").actor_label == "manage.py"


def test_delete_workspace_command_names_an_unknown_slug():
    with pytest.raises(CommandError, match="No workspace with slug 'nowhere'"):
        call_command("delete_workspace", slug="nowhere", confirm="nowhere", stdout=StringIO())


def test_delete_tenant_is_the_audited_command_too(populated):
    with pytest.raises(CommandError, match="Nothing deleted"):
        call_command("delete_tenant", slug="acme", stdout=StringIO())


def test_admin_delete_asks_for_the_slug_then_deletes(populated, operator):
    admin = _admin(operator)
    url = f"/admin/tenants/workspace/{populated.pk}/delete-for-good/"
    # given the workspace's page links to the deletion, which says what goes
    assert url.encode() in admin.get(f"/admin/tenants/workspace/{populated.pk}/change/").content
    page = admin.get(url)
    assert page.status_code == HTTPStatus.OK
    assert f"<code>ws_acme</code> ({_tables('ws_acme')} tables".encode() in page.content and b"1 api keys" in page.content

    # when the operator types the wrong address
    refused = admin.post(url, {"confirm": "acme-corp"})
    # then the page says so and nothing is deleted
    assert refused.status_code == HTTPStatus.BAD_REQUEST
    assert b"Type the workspace&#x27;s address (acme) to confirm." in refused.content
    assert _schema_exists("ws_acme")

    # when they type it right
    done = admin.post(url, {"confirm": "acme"}, follow=True)
    # then it is gone, they are told, and the audit trail names them
    assert done.redirect_chain[-1][0] == "/admin/tenants/workspace/"
    assert b"Deleted workspace acme and its schema." in done.content
    assert not _schema_exists("ws_acme") and _rows(populated)["workspace"] == 0
    assert AuditEvent.objects.get(action="workspace_deleted").actor_label == "ops@tollgate.test"


def test_admin_delete_is_refused_to_staff_who_are_not_superusers(populated):
    staff = UserFactory(email="helpdesk@tollgate.test", is_staff=True)
    response = _admin(staff).post(f"/admin/tenants/workspace/{populated.pk}/delete-for-good/", {"confirm": "acme"})
    assert response.status_code == HTTPStatus.FORBIDDEN
    assert _schema_exists("ws_acme")


def test_admin_delete_action_takes_one_workspace_at_a_time(workspace, other_workspace, operator):
    admin = _admin(operator)
    # when two are selected
    response = admin.post("/admin/tenants/workspace/", {"action": "delete_workspace",
                                                         "_selected_action": [workspace.pk, other_workspace.pk]},
                          follow=True)
    # then none is deleted and the operator is told why
    assert b"Choose exactly one workspace to delete." in response.content
    assert _schema_exists("ws_acme") and _schema_exists("ws_globex")
    # when one is selected, the confirmation page opens
    response = admin.post("/admin/tenants/workspace/", {"action": "delete_workspace", "_selected_action": [workspace.pk]})
    assert response.status_code == HTTPStatus.FOUND
    assert response["Location"] == f"/admin/tenants/workspace/{workspace.pk}/delete-for-good/"
