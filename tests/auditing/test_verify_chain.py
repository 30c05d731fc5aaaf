"""python manage.py verify_audit_chain [--workspace S]."""

from io import StringIO

import pytest
from django.core.management import CommandError, call_command

from auditing.services import audit_subject_erase, record
from tenants.selectors import audit_schemas
from tests.auditing.conftest import tamper


def _verify(*args) -> str:
    out = StringIO()
    call_command("verify_audit_chain", *args, stdout=out)
    return out.getvalue()


def test_verify_audit_chain_reports_every_intact_chain(workspace, other_workspace):
    # given events on the platform and in two workspaces
    record(action="login")
    record(action="login", workspace=workspace)
    record(action="logout", workspace=workspace)
    # when the chains are verified
    output = _verify()
    # then each is reported intact with its event count
    assert "ok      platform:" in output
    assert "ok      workspace acme: 2 events" in output
    assert "ok      workspace globex: 0 events" in output


def test_verify_audit_chain_finds_a_row_edited_by_hand(workspace):
    # given three events, the second of which a database user edits around the guard
    record(action="login", workspace=workspace)
    second = record(action="role_changed", workspace=workspace, details={"to": "member"})
    record(action="logout", workspace=workspace)
    tamper("UPDATE auditing_auditevent SET details = '{\"to\": \"owner\"}' WHERE id = %s", [second.pk],
           schema=workspace.schema_name)
    # when the workspace's chain is verified
    out = StringIO()
    with pytest.raises(CommandError, match="broken in workspace acme"):
        call_command("verify_audit_chain", "--workspace", "acme", stdout=out)
    # then it names the edited event as the first broken link
    assert f"first broken link at event {second.pk}: personal data" in out.getvalue()


def test_verify_audit_chain_finds_an_edited_fact(workspace):
    # given an event whose action is rewritten by hand
    event = record(action="key_revoked", workspace=workspace)
    tamper("UPDATE auditing_auditevent SET action = 'key_created' WHERE id = %s", [event.pk],
           schema=workspace.schema_name)
    # when verified
    out = StringIO()
    with pytest.raises(CommandError):
        call_command("verify_audit_chain", "--workspace", "acme", stdout=out)
    # then the stored hash no longer matches
    assert f"event {event.pk}: stored hash does not match" in out.getvalue()


def test_verify_audit_chain_finds_a_deleted_row(workspace):
    # given three events, the middle one deleted by hand
    record(action="login", workspace=workspace)
    middle = record(action="key_created", workspace=workspace)
    last = record(action="logout", workspace=workspace)
    tamper("DELETE FROM auditing_auditevent WHERE id = %s", [middle.pk], schema=workspace.schema_name)
    # when verified
    out = StringIO()
    with pytest.raises(CommandError):
        call_command("verify_audit_chain", "--workspace", "acme", stdout=out)
    # then the event after the gap is the broken link
    assert f"event {last.pk}: prev_hash does not match the previous event" in out.getvalue()


def test_verify_audit_chain_finds_the_oldest_rows_deleted_without_retention(workspace):
    # given events whose oldest one is deleted by hand (no retention anchor)
    first = record(action="login", workspace=workspace)
    second = record(action="logout", workspace=workspace)
    tamper("DELETE FROM auditing_auditevent WHERE id = %s", [first.pk], schema=workspace.schema_name)
    # when verified
    out = StringIO()
    with pytest.raises(CommandError):
        call_command("verify_audit_chain", "--workspace", "acme", stdout=out)
    # then the new first event does not start the chain
    assert f"event {second.pk}: prev_hash does not match the start of the chain" in out.getvalue()


def test_verify_audit_chain_only_checks_the_named_workspace(workspace, other_workspace):
    # given a broken chain in globex and an intact one in acme
    record(action="login", workspace=workspace)
    event = record(action="login", workspace=other_workspace)
    tamper("UPDATE auditing_auditevent SET outcome = 'x' WHERE id = %s", [event.pk],
           schema=other_workspace.schema_name)
    # when only acme is verified
    output = _verify("--workspace", "acme")
    # then acme is reported, and globex is not looked at
    assert "ok      workspace acme: 1 events" in output and "globex" not in output


def test_verify_audit_chain_refuses_an_unknown_workspace():
    # given no workspace called nope
    # when it is named
    # then the command says so
    with pytest.raises(CommandError, match="No workspace with slug 'nope'"):
        _verify("--workspace", "nope")


def test_verify_audit_chain_stays_valid_after_erasure(workspace, owner, member):
    # given events by and about a member
    record(action="login", actor=member, workspace=workspace)
    record(action="role_changed", actor=owner, workspace=workspace, details={"member": member.email})
    record(action="logout", actor=member, workspace=workspace)
    # when the member is erased
    audit_subject_erase(user_id=member.pk, email=member.email, schemas=audit_schemas())
    # then every chain still verifies, the erased rows counted
    output = _verify()
    assert "ok      workspace acme: 3 events (3 with personal data erased)" in output
    assert "ok      platform:" in output
