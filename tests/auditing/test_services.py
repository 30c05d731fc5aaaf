"""auditing.services: record, critical events, retention, erasure."""

from datetime import timedelta

import pytest
from django.core import mail
from django.db import IntegrityError, transaction
from django.utils import timezone
from django_tenants.utils import schema_context
from prometheus_client import REGISTRY

from accounts.permissions import Role
from auditing import chain
from auditing.models import AuditChainAnchor, AuditEvent
from auditing.selectors import audit_chain_verify
from auditing.services import audit_retention_apply, audit_subject_erase, pseudonym_for, record
from core import context
from tenants.selectors import audit_schemas
from tests.auditing.conftest import events, one, tamper
from tests.conftest import add_member


def test_record_writes_in_the_workspace_schema_only(workspace, other_workspace):
    # given two workspaces
    # when an event is recorded for one of them
    event = record(action="login", workspace=workspace)
    # then it is in that workspace's schema, not the other's nor the platform's
    assert [e.pk for e in events(workspace, action="login")] == [event.pk]
    assert events(other_workspace, action="login") == []
    assert events(None, action="login") == []


def test_record_takes_ip_user_agent_and_request_id_from_the_request_context(workspace, owner):
    # given a request's context
    context.request_id.set("rid-ctx-123")
    context.client_ip.set("::ffff:198.51.100.4")
    context.user_agent.set("curl/8")
    try:
        # when an event is recorded without naming them
        event = record(action="login", actor=owner, workspace=workspace)
    finally:
        context.clear()
    # then it carries them (an IPv4-mapped address in its IPv4 spelling)
    row = one(workspace, pk=event.pk)
    assert (row.request_id, row.ip, row.user_agent) == ("rid-ctx-123", "198.51.100.4", "curl/8")
    assert (row.actor_type, row.actor_id, row.actor_label) == ("user", str(owner.pk), owner.email)


def test_record_stores_nul_characters_replaced_and_keeps_the_chain_valid(workspace):
    # given values from outside with NUL characters in them (PostgreSQL refuses NUL in text and JSON)
    nul = "a\x00b"
    # when an event is recorded with them in every free-text place
    event = record(action="login_failed", workspace=workspace, resource=("user", nul), outcome="fail\x00",
                   user_agent=nul, request_id=nul, actor=("user", nul),
                   details={"email": nul, nul: [nul, {"k": nul}]})
    # then it is stored, each NUL replaced by U+FFFD, and the chain still verifies
    row = one(workspace, pk=event.pk)
    fixed = "a\ufffdb"
    assert (row.user_agent, row.request_id, row.resource_id, row.actor_label, row.outcome) == (
        fixed, fixed, fixed, fixed, "fail\ufffd")
    assert row.details == {"email": fixed, fixed: [fixed, {"k": fixed}]}
    assert audit_chain_verify(workspace=workspace).ok


def test_record_refuses_an_unknown_action_or_severity(workspace):
    # given nothing
    # when a caller names an action or severity that does not exist
    # then it is a programming error, and nothing is written
    with pytest.raises(ValueError, match="unknown audit action"):
        record(action="logged_in", workspace=workspace)
    with pytest.raises(ValueError, match="unknown audit severity"):
        record(action="login", severity="fatal", workspace=workspace)
    assert events(workspace) == []


def test_record_chains_each_event_to_the_previous_one(workspace):
    # given three events in a row
    first = record(action="login", workspace=workspace)
    second = record(action="logout", workspace=workspace, details={"n": 2})
    third = record(action="login", workspace=workspace)
    # when we read them back
    rows = events(workspace)
    # then each names its predecessor's hash and its own hash matches its contents
    assert [r.pk for r in rows] == [first.pk, second.pk, third.pk]
    assert rows[0].prev_hash == ""
    assert rows[1].prev_hash == rows[0].hash and rows[2].prev_hash == rows[1].hash
    assert all(chain.event_hash(r) == r.hash and chain.pii_digest(r) == r.pii_digest for r in rows)


def test_record_rolls_back_with_the_callers_transaction(workspace):
    # given a change that fails after recording its event
    with pytest.raises(RuntimeError), transaction.atomic():
        record(action="login", workspace=workspace)
        raise RuntimeError("the change failed")
    # then no event remains, and the next one chains to the start
    assert events(workspace) == []
    assert record(action="logout", workspace=workspace).prev_hash == ""


def _critical_count(action: str) -> float:
    return REGISTRY.get_sample_value("tollgate_audit_critical_events_total", {"action": action}) or 0.0


def test_critical_event_emails_owners_and_counts(workspace, owner, admin_user, eager_celery,
                                                 django_capture_on_commit_callbacks):
    # given a workspace with an owner and an admin, and a second owner
    second_owner = add_member(workspace, Role.OWNER, email="owner2@acme.test")
    before = _critical_count("payment_failed")
    # when a critical event commits
    with django_capture_on_commit_callbacks(execute=True):
        record(action="payment_failed", severity="critical", workspace=workspace, details={"invoice": "in_1"})
    # then the owners (only) get one email, and the alert counter goes up by one
    assert len(mail.outbox) == 1
    assert sorted(mail.outbox[0].to) == sorted([owner.email, second_owner.email])
    assert "payment failed" in mail.outbox[0].subject and "Acme" in mail.outbox[0].subject
    assert "in_1" in mail.outbox[0].body
    assert _critical_count("payment_failed") == before + 1


def test_critical_event_rolled_back_sends_nothing(workspace, owner, eager_celery,
                                                  django_capture_on_commit_callbacks):
    # given a critical event whose transaction rolls back
    before = _critical_count("backup_failed")
    with django_capture_on_commit_callbacks(execute=True) as callbacks, pytest.raises(RuntimeError), transaction.atomic():
        record(action="backup_failed", severity="critical", workspace=workspace)
        raise RuntimeError("rolled back")
    # then no email and no count
    assert callbacks == [] and mail.outbox == []
    assert _critical_count("backup_failed") == before


def test_non_critical_event_sends_no_email(workspace, owner, eager_celery, django_capture_on_commit_callbacks):
    # given an error-level event (serious, not critical)
    with django_capture_on_commit_callbacks(execute=True):
        record(action="payment_failed", severity="error", workspace=workspace)
    # then nobody is emailed
    assert mail.outbox == []


def test_critical_platform_event_emails_the_operators(settings, eager_celery, django_capture_on_commit_callbacks):
    # given operators listed in ADMINS
    settings.ADMINS = [("Ops", "ops@tollgate.test")]
    # when a critical platform event commits
    with django_capture_on_commit_callbacks(execute=True):
        record(action="backup_failed", severity="critical", details={"target": "s3"})
    # then the operators get it
    assert [m.to for m in mail.outbox] == [["ops@tollgate.test"]]
    assert "the platform" in mail.outbox[0].subject


# Retention --------------------------------------------------------------------------------

def _age(workspace, event, days: int) -> None:
    # Events are immutable; to make old ones, rewrite occurred_at around the guard and re-hash
    # the chain, as if they had been written `days` ago.
    tamper("UPDATE auditing_auditevent SET occurred_at = occurred_at - %s WHERE id = %s",
           [timedelta(days=days), event.pk], schema=workspace.schema_name)


def _rechain(workspace) -> None:
    with schema_context(workspace.schema_name):
        prev = ""
        for row in AuditEvent.objects.order_by("id"):
            row.prev_hash = prev
            row.hash = chain.event_hash(row)
            tamper("UPDATE auditing_auditevent SET prev_hash = %s, hash = %s WHERE id = %s",
                   [row.prev_hash, row.hash, row.pk], schema=workspace.schema_name)
            prev = row.hash


def test_retention_deletes_old_events_and_keeps_the_chain_valid(workspace, settings):
    # given two events older than the retention period and one recent event
    settings.AUDIT_RETENTION_DAYS = 30
    old1 = record(action="login", workspace=workspace)
    old2 = record(action="logout", workspace=workspace)
    recent = record(action="login", workspace=workspace)
    _age(workspace, old1, 40)
    _age(workspace, old2, 31)
    _rechain(workspace)
    # when the retention job runs
    purged = audit_retention_apply(schemas=audit_schemas())
    # then only the old ones are gone, an anchor remembers where the chain now starts,
    assert purged[workspace.schema_name] == 2
    assert [e.pk for e in events(workspace)] == [recent.pk]
    with schema_context(workspace.schema_name):
        anchor = AuditChainAnchor.objects.get()
    assert anchor.last_event_id == old2.pk and anchor.purged == 2
    # and the chain still verifies, and new events chain on
    record(action="logout", workspace=workspace)
    assert audit_chain_verify(workspace=workspace).ok


def test_retention_keeps_everything_within_the_period(workspace):
    # given only recent events
    record(action="login", workspace=workspace)
    record(action="logout", workspace=workspace)
    # when the retention job runs with the default period
    purged = audit_retention_apply(schemas=audit_schemas())
    # then nothing is deleted and no anchor is written
    assert purged[workspace.schema_name] == 0
    assert len(events(workspace)) == 2
    with schema_context(workspace.schema_name):
        assert not AuditChainAnchor.objects.exists()


def test_retention_refuses_a_period_under_one_day(workspace):
    # given an event
    record(action="login", workspace=workspace)
    # when retention is asked to keep nothing
    # then it refuses, and the event stays
    with pytest.raises(ValueError, match="at least one day"):
        audit_retention_apply(schemas=audit_schemas(), days=0)
    assert len(events(workspace)) == 1


def test_retention_closes_the_door_behind_it(workspace):
    # given a retention run inside a longer transaction
    event = record(action="login", workspace=workspace)
    audit_retention_apply(schemas=audit_schemas(), now=timezone.now())
    # when something else in the same transaction tries to delete an event
    # then the guard refuses again
    with schema_context(workspace.schema_name), pytest.raises(IntegrityError), transaction.atomic():
        AuditEvent.objects.filter(pk=event.pk).delete()


def test_retention_task_is_scheduled_daily_and_runs_the_service(workspace, settings, eager_celery):
    # given the beat schedule and an event older than the retention period
    from config.celery import app
    from tenants.tasks import apply_audit_retention

    entry = next(e for e in app.conf.beat_schedule.values() if e["task"] == "tenants.tasks.apply_audit_retention")
    settings.AUDIT_RETENTION_DAYS = 7
    old = record(action="login", workspace=workspace)
    _age(workspace, old, 8)
    _rechain(workspace)
    # when the task runs
    result = apply_audit_retention.delay().get()
    # then it purged the old event, and it is scheduled once a day
    assert result[workspace.schema_name] == 1 and events(workspace) == []
    assert entry["schedule"].hour == {3}


# Erasure ----------------------------------------------------------------------------------

def test_erasure_pseudonymises_the_user_and_keeps_the_chain_valid(workspace, owner, admin_user):
    # given events by the admin (with their IP), about the admin, and by someone else
    context.client_ip.set("192.0.2.10")
    try:
        by_admin = record(action="login", actor=admin_user, resource=admin_user, workspace=workspace)
        about_admin = record(action="role_changed", actor=owner, workspace=workspace,
                             details={"member": admin_user.email.upper(), "from": "admin", "to": "member"})
        unrelated = record(action="login", actor=owner, workspace=workspace)
    finally:
        context.clear()
    # when the admin is erased
    changed = audit_subject_erase(user_id=admin_user.pk, email=admin_user.email, schemas=audit_schemas())
    # then their own event keeps its facts under a pseudonym, without their IP
    alias = pseudonym_for(admin_user.pk)
    mine = one(workspace, pk=by_admin.pk)
    assert (mine.action, mine.actor_id, mine.actor_label, mine.ip, mine.hash) == (
        "login", str(admin_user.pk), alias, None, by_admin.hash)
    # and their email is gone from the owner's event, whose actor and IP stay
    about = one(workspace, pk=about_admin.pk)
    assert about.details == {"member": alias, "from": "admin", "to": "member"}
    assert (about.actor_label, about.ip) == (owner.email, "192.0.2.10")
    # and the unrelated event is untouched
    assert one(workspace, pk=unrelated.pk).pii_salt == unrelated.pii_salt
    # and the chain verifies, counting the erased rows
    report = audit_chain_verify(workspace=workspace)
    assert report.ok and report.redacted == 2
    assert changed[workspace.schema_name] >= 2
    # and the erasure itself is on the platform's record, without the email
    erased = one(None, action="user_erased")
    assert erased.resource_id == str(admin_user.pk) and admin_user.email not in str(erased.details)


def test_erasure_of_someone_absent_changes_nothing(workspace, owner):
    # given events of the owner only
    event = record(action="login", actor=owner, workspace=workspace)
    # when a user with no events is erased
    changed = audit_subject_erase(user_id=999999, email="nobody@nowhere.test", schemas=audit_schemas())
    # then nothing was touched
    assert changed == {}
    row = one(workspace, pk=event.pk)
    assert row.pii_salt == event.pii_salt and row.actor_label == owner.email
