"""The append-only guard: a trigger on every audit table, in every schema."""

import pytest
from django.conf import settings
from django.db import IntegrityError, connection, transaction
from django_tenants.utils import schema_context

from auditing.models import AuditEvent
from auditing.services import record
from tests.conftest import client_for

GUARDED = ("auditing_auditevent", "auditing_auditchainanchor", "auditlog_logentry")


def _triggers(schema: str) -> set[str]:
    with connection.cursor() as cursor:
        cursor.execute(
            "SELECT c.relname FROM pg_trigger t JOIN pg_class c ON c.oid = t.tgrelid "
            "JOIN pg_namespace n ON n.oid = c.relnamespace "
            "WHERE n.nspname = %s AND t.tgname = 'tollgate_audit_guard' AND NOT t.tgisinternal",
            [schema],
        )
        return {row[0] for row in cursor.fetchall()}


@pytest.mark.parametrize("schema", ["public", settings.TENANT_BASE_SCHEMA])
def test_guard_trigger_installed_in_public_and_template(schema):
    # given the migrated database
    # when we look for the guard trigger
    found = _triggers(schema)
    # then every audit table carries it
    assert found == set(GUARDED)


def test_guard_trigger_cloned_into_every_new_workspace(workspace):
    # given a workspace created by cloning the template schema
    # when we look for the guard in its schema
    found = _triggers(workspace.schema_name)
    # then the clone carries it too
    assert found == set(GUARDED)


def _schemas(workspace):
    return {"public": None, "workspace": workspace}


@pytest.mark.parametrize("where", ["public", "workspace"])
def test_guard_refuses_update_of_an_event(workspace, where):
    # given an event in the platform's or a workspace's schema
    target = _schemas(workspace)[where]
    event = record(action="login", workspace=target, details={"email": "a@b.test"})
    schema = target.schema_name if target else "public"
    # when the application tries to change it
    with schema_context(schema), pytest.raises(IntegrityError, match="append-only: UPDATE"), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).update(action="logout")
    # then the row is unchanged
    with schema_context(schema):
        assert AuditEvent.objects.get(pk=event.pk).action == "login"


@pytest.mark.parametrize("where", ["public", "workspace"])
def test_guard_refuses_delete_of_an_event(workspace, where):
    # given an event
    target = _schemas(workspace)[where]
    event = record(action="login", workspace=target)
    schema = target.schema_name if target else "public"
    # when the application tries to delete it
    with schema_context(schema), pytest.raises(IntegrityError, match="append-only: DELETE"), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).delete()
    # then it is still there
    with schema_context(schema):
        assert AuditEvent.objects.filter(pk=event.pk).exists()


def test_guard_allows_delete_only_with_the_retention_setting(workspace):
    # given an event in a workspace
    event = record(action="login", workspace=workspace)
    # when the retention job's transaction setting is on
    with schema_context(workspace.schema_name), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL tollgate.audit_retention = 'on'")
        deleted, _ = AuditEvent.objects.filter(pk=event.pk).delete()
    # then the delete goes through
    assert deleted == 1


def test_guard_erasure_setting_allows_personal_columns_only(workspace):
    # given an event and the erasure setting on
    event = record(action="login", workspace=workspace, details={"email": "ana@acme.test"})
    with schema_context(workspace.schema_name), transaction.atomic():
        with connection.cursor() as cursor:
            cursor.execute("SET LOCAL tollgate.audit_erasure = 'on'")
        # when erasure blanks personal data
        AuditEvent.objects.filter(pk=event.pk).update(actor_label="erased", ip=None, details={}, pii_salt="")
        # then that is allowed, but changing a fact of the event is not
        with pytest.raises(IntegrityError, match="UPDATE"), transaction.atomic():
            AuditEvent.objects.filter(pk=event.pk).update(action="logout")
    with schema_context(workspace.schema_name):
        row = AuditEvent.objects.get(pk=event.pk)
    assert (row.action, row.actor_label, row.details) == ("login", "erased", {})


def test_guard_refuses_update_of_model_history(workspace):
    # given a model history entry (django-auditlog) written when the workspace was created
    from auditlog.models import LogEntry

    entry = LogEntry.objects.filter(object_pk=str(workspace.pk)).first()
    assert entry is not None
    # when someone rewrites what changed
    with pytest.raises(IntegrityError), transaction.atomic():
        LogEntry.objects.filter(pk=entry.pk).update(changes_text="nothing happened")
    # then it is refused
    assert LogEntry.objects.get(pk=entry.pk).changes_text == entry.changes_text


def test_guard_lets_a_deleted_actor_be_set_null_in_model_history(workspace, admin_user, member):
    # given a history entry whose actor is the admin (they changed a member's role in the dashboard)
    from auditlog.models import LogEntry

    from accounts.models import Membership

    target = Membership.objects.get(user=member)
    response = client_for(workspace, admin_user).post(f"/members/{target.pk}/role/", {"role": "manager"})
    assert response.status_code == 302
    entry = LogEntry.objects.get(actor=admin_user, object_pk=str(target.pk))
    # when the admin's account is deleted (the actor foreign key is ON DELETE SET NULL)
    admin_user.delete()
    # then the entry survives, with no actor and what changed intact
    entry_after = LogEntry.objects.get(pk=entry.pk)
    assert entry_after.actor_id is None and entry_after.changes == entry.changes


def _history_entry(schema: str, age_days: int = 0) -> int:
    """A model history row in `schema`'s own auditlog_logentry, `age_days` old."""
    with schema_context(schema), connection.cursor() as cursor:
        cursor.execute("SELECT id FROM django_content_type ORDER BY id LIMIT 1")
        content_type_id = cursor.fetchone()[0]
        cursor.execute(
            "INSERT INTO auditlog_logentry (content_type_id, object_pk, object_id, object_repr, action, changes_text,"
            " timestamp) VALUES (%s, '1', 1, 'branding', 1, '', now() - make_interval(days => %s)) RETURNING id",
            [content_type_id, age_days],
        )
        return cursor.fetchone()[0]


def test_guard_refuses_delete_of_model_history_in_a_workspace_schema(workspace):
    # given a history entry in the workspace's own schema (where workspace-only models' history goes)
    from auditlog.models import LogEntry

    entry_id = _history_entry(workspace.schema_name)
    # when the application tries to delete it, by the ORM or in SQL
    with schema_context(workspace.schema_name):
        with pytest.raises(IntegrityError, match=f"append-only: DELETE on {workspace.schema_name}.auditlog_logentry"), \
                transaction.atomic():
            LogEntry.objects.filter(pk=entry_id).delete()
        with pytest.raises(IntegrityError, match="append-only: DELETE"), transaction.atomic(), \
                connection.cursor() as cursor:
            cursor.execute("DELETE FROM auditlog_logentry")
        # then it is still there
        assert LogEntry.objects.filter(pk=entry_id).exists()


def test_retention_still_purges_old_model_history_in_a_workspace_schema(workspace):
    # given an old and a recent history entry in the workspace's schema
    from auditlog.models import LogEntry

    from auditing.services import audit_retention_apply
    from tenants.selectors import audit_schemas

    old, recent = _history_entry(workspace.schema_name, age_days=400), _history_entry(workspace.schema_name)
    # when the retention job runs with a year's period
    audit_retention_apply(schemas=audit_schemas(), days=365)
    # then the old one is gone through the guard's door, and the recent one stays
    with schema_context(workspace.schema_name):
        assert list(LogEntry.objects.filter(pk__in=[old, recent]).values_list("pk", flat=True)) == [recent]
