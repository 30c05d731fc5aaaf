"""Model change history (django-auditlog): who changed what, from where, under which request id."""

from auditlog.models import LogEntry
from auditlog.registry import auditlog
from django.apps import apps
from django.contrib.contenttypes.models import ContentType
from django_tenants.utils import schema_context

from accounts.models import Membership
from apikeys.models import ApiKey
from auditing.history import TRACKED
from tenants.models import Domain, Workspace
from tests.auditing.conftest import IP, headers, one
from tests.conftest import client_for


def _history(model, pk, schema="public"):
    with schema_context(schema):
        return list(LogEntry.objects.filter(content_type=ContentType.objects.get_for_model(model),
                                            object_pk=str(pk)).order_by("id"))


def test_history_tracks_the_core_models_and_whatever_else_exists():
    # given the app registry
    # when we ask auditlog what it tracks
    # then Workspace, Domain, Membership and ApiKey are tracked, and every other listed model that exists
    for model in (Workspace, Domain, Membership, ApiKey):
        assert auditlog.contains(model)
    for label in TRACKED:
        try:
            model = apps.get_model(label)
        except LookupError:
            continue
        assert auditlog.contains(model), label


def test_history_of_a_role_change_carries_actor_ip_and_request_id(workspace, owner, member):
    # given an owner changing a member's role on the workspace's host
    target = Membership.objects.get(user=member)
    # when the change is made
    client_for(workspace, owner).post(f"/members/{target.pk}/role/", {"role": "admin"}, **headers("rid-hist-role"))
    # then the membership's history says who, from where, under which request, and what changed
    entry = _history(Membership, target.pk)[-1]
    assert entry.action == LogEntry.Action.UPDATE
    assert (entry.actor_id, entry.remote_addr, entry.cid) == (owner.pk, IP, "rid-hist-role")
    assert entry.changes_dict["role"] == ["member", "admin"]
    # and the correlation id finds the explicit event of the same request
    assert one(workspace, action="role_changed").request_id == entry.cid


def test_history_of_shared_models_lands_in_public_even_from_a_workspace_request(workspace, admin_key, api_client):
    # given an API request, which runs in the workspace's schema
    _, text = admin_key
    # when it creates a key (a public-schema row)
    response = api_client.post("/api/v1/keys", {"name": "deploy"}, format="json",
                               HTTP_AUTHORIZATION=f"Bearer {text}", **headers("rid-hist-key"))
    key = ApiKey.objects.get(key_id=response.json()["id"])
    # then the key's history is in public, beside the key, and not in the workspace's schema
    entries = _history(ApiKey, key.pk)
    assert [(e.action, e.cid) for e in entries] == [(LogEntry.Action.CREATE, "rid-hist-key")]
    assert _history(ApiKey, key.pk, schema=workspace.schema_name) == []
    # and the secret's digest is never in it
    assert "digest" not in entries[0].changes_dict and key.digest not in str(entries[0].changes)


def test_history_outside_a_request_has_no_correlation_id(workspace):
    # given no request (a management command, a task): no request context
    from core import context
    from tenants.services import workspace_set_status

    context.clear()
    # when a workspace is changed
    workspace_set_status(workspace=workspace, status="suspended")
    # then its history entry has no correlation id rather than a stale one
    entry = _history(Workspace, workspace.pk)[-1]
    assert entry.changes_dict["status"] == ["active", "suspended"] and entry.cid is None
