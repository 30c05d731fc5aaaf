"""Personal data: export everything held about a user as JSON; erase a user from the trail."""

import json
from io import StringIO

import pytest
from auditlog.models import LogEntry
from django.core.management import CommandError, call_command

from accounts.models import Membership
from auditing.selectors import audit_chain_verify
from auditing.services import pseudonym_for, record
from tests.auditing.conftest import events, headers, one
from tests.conftest import client_for


def _export(email: str, tmp_path) -> dict:
    target = tmp_path / "export.json"
    call_command("export_user_data", "--email", email, "--output", str(target), stderr=StringIO())
    return json.loads(target.read_text())


def test_export_user_data_gathers_profile_memberships_keys_and_trail(workspace, owner, member, admin_key,
                                                                      tmp_path):
    # given a member who logged in, and an owner who changed the member's role and made a key
    client_for(workspace).post("/login/", {"username": member.email, "password": "correct horse battery"},
                               **headers("rid-export-login"))
    target = Membership.objects.get(user=member)
    client_for(workspace, owner).post(f"/members/{target.pk}/role/", {"role": "manager"})
    # when the member's data is exported
    data = _export(member.email, tmp_path)
    # then it holds their profile, memberships and every audit event by or about them, across schemas
    assert data["user"]["email"] == member.email and "password" not in data["user"]
    assert [(m["workspace"], m["role"]) for m in data["memberships"]] == [("acme", "manager")]
    actions = {(e["workspace"], e["action"]) for e in data["audit_events"]}
    assert {("acme", "login"), ("acme", "role_changed")} <= actions
    login = next(e for e in data["audit_events"] if e["action"] == "login")
    assert login["request_id"] == "rid-export-login"
    # and only events by or about them
    for e in data["audit_events"]:
        assert (e["actor_id"] == str(member.pk) or (e["resource_type"], e["resource_id"]) == ("user", str(member.pk))
                or member.email in json.dumps(e["details"]))
    # and the owner's export lists the key they made
    assert [k["name"] for k in _export(owner.email, tmp_path)["api_keys_created"]] == ["admin key"]


def test_export_user_data_is_itself_recorded(workspace, member, tmp_path):
    # given a member
    # when their data is exported
    _export(member.email, tmp_path)
    # then the platform records the export, about that user
    exported = one(None, action="data_exported")
    assert (exported.resource_type, exported.resource_id) == ("user", str(member.pk))
    assert exported.details["kind"] == "user_data"


def test_export_user_data_refuses_an_unknown_email(tmp_path):
    # given no such user
    # when their data is asked for
    # then the command says so, and records nothing
    with pytest.raises(CommandError, match="No user with email"):
        call_command("export_user_data", "--email", "ghost@nowhere.test")
    assert events(None, action="data_exported") == []


def test_erase_user_pseudonymises_trail_and_history_and_keeps_chains_valid(workspace, owner, member):
    # given a member who logged in, and whose role an owner changed (explicit events and model history)
    client_for(workspace).post("/login/", {"username": member.email, "password": "correct horse battery"},
                               **headers("rid-erase-login"))
    target = Membership.objects.get(user=member)
    client_for(workspace, owner).post(f"/members/{target.pk}/role/", {"role": "manager"})
    record(action="login_failed", workspace=workspace, details={"email": member.email.upper()})
    # when an operator erases the member
    out = StringIO()
    call_command("erase_user", "--email", member.email, "--yes", stdout=out)
    # then no event or history entry in any schema names them, their events remain under a pseudonym,
    alias = pseudonym_for(member.pk)
    trail = events(workspace) + events(None)
    assert not [e for e in trail if member.email in (e.actor_label + json.dumps(e.details)).lower()]
    login = one(workspace, action="login")
    assert (login.actor_label, login.ip, login.user_agent, login.request_id) == (alias, None, "", "rid-erase-login")
    assert member.email not in json.dumps(list(LogEntry.objects.values("object_repr", "changes", "actor_email")))
    # and every chain still verifies
    assert audit_chain_verify(workspace=workspace).ok and audit_chain_verify().ok
    assert alias in out.getvalue()


def test_erase_user_needs_confirmation(workspace, member):
    # given a member with an event
    event = record(action="login", actor=member, workspace=workspace)
    # when erasure is asked for without --yes
    # then it refuses, and nothing changes
    with pytest.raises(CommandError, match="--yes"):
        call_command("erase_user", "--email", member.email)
    assert one(workspace, pk=event.pk).actor_label == member.email


def test_erase_user_refuses_an_unknown_email_without_an_id():
    # given no such user
    # when erasure is asked for by email only
    # then the command explains how to erase an already deleted account
    with pytest.raises(CommandError, match="--user-id"):
        call_command("erase_user", "--email", "ghost@nowhere.test", "--yes")
