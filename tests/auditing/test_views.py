"""The audit log page and its exports, on the workspace's host."""

import csv
import io
import json

import pytest

from auditing.services import record
from tests.auditing.conftest import events
from tests.conftest import add_member, client_for


def _ids_on_page(response) -> list[str]:
    import re

    return re.findall(r'<tr id="event-(\d+)">', response.content.decode())


@pytest.mark.parametrize("role_fixture", ["owner", "admin_user"])
def test_audit_page_shows_owners_and_admins_the_workspace_trail(workspace, role_fixture, request):
    # given an owner or admin, and an event
    user = request.getfixturevalue(role_fixture)
    event = record(action="role_changed", actor=user, workspace=workspace, details={"to": "manager"})
    # when they open the audit page
    response = client_for(workspace, user).get("/audit/")
    # then they see it, with its details
    assert response.status_code == 200
    assert str(event.pk) in _ids_on_page(response)
    assert "manager" in response.content.decode()


@pytest.mark.parametrize("role_fixture", ["manager", "member"])
def test_audit_page_refuses_managers_and_members(workspace, role_fixture, request):
    # given a manager or a plain member
    user = request.getfixturevalue(role_fixture)
    # when they open the audit page
    response = client_for(workspace, user).get("/audit/")
    # then they are refused
    assert response.status_code == 403


def test_audit_page_sends_anonymous_visitors_to_login(workspace):
    # given nobody signed in
    # when the audit page is opened
    response = client_for(workspace).get("/audit/")
    # then they are asked to log in
    assert response.status_code == 302 and "/login/" in response["Location"]


def test_audit_page_filters_and_searches(workspace, owner):
    # given events of several kinds
    login = record(action="login", actor=owner, workspace=workspace)
    failed = record(action="login_failed", severity="warning", workspace=workspace, details={"email": "x@evil.test"})
    record(action="logout", actor=owner, workspace=workspace)
    client = client_for(workspace, owner)
    # when filtered by action, by severity, and searched
    # then only the matches are listed
    assert _ids_on_page(client.get("/audit/", {"action": "login"})) == [str(login.pk)]
    assert _ids_on_page(client.get("/audit/", {"severity": "warning"})) == [str(failed.pk)]
    assert _ids_on_page(client.get("/audit/", {"q": "evil.test"})) == [str(failed.pk)]


def test_audit_page_shows_a_bad_filter_next_to_its_field(workspace, owner):
    # given an owner
    # when they filter by an action that does not exist
    response = client_for(workspace, owner).get("/audit/", {"action": "hacked"})
    # then the page says so, at that field, and lists nothing
    assert response.status_code == 400
    assert "Unknown action &#x27;hacked&#x27;" in response.content.decode()
    assert _ids_on_page(response) == []


def test_audit_page_pages_with_a_cursor(workspace, owner):
    # given 55 events (plus those the fixtures wrote)
    for _ in range(55):
        record(action="login", workspace=workspace)
    client = client_for(workspace, owner)
    # when the first page is opened and its "older" link followed
    first = client.get("/audit/", {"action": "login"})
    next_url = first.context["next_url"]
    second = client.get("/audit/" + next_url)
    # then the pages hold 50 and 5 events, none twice, and the filter is kept
    assert len(_ids_on_page(first)) == 50 and len(_ids_on_page(second)) == 5
    assert not set(_ids_on_page(first)) & set(_ids_on_page(second))
    assert "action=login" in next_url and second.context["next_url"] is None


def test_audit_page_refuses_a_forged_cursor(workspace, owner):
    # given an owner
    # when they follow a cursor that was not made by the page
    response = client_for(workspace, owner).get("/audit/", {"cursor": "bm9wZQ"})
    # then they get a clear error
    assert response.status_code == 400
    assert "cursor is not valid" in response.content.decode()


def test_audit_page_never_shows_another_workspaces_events(workspace, other_workspace, owner):
    # given an event in another workspace (which has its own owner)
    record(action="login", workspace=other_workspace, details={"confidential": "globex-only"})
    add_member(other_workspace, role="owner", email=None)
    # when acme's owner opens acme's page, searching for the other's text
    response = client_for(workspace, owner).get("/audit/", {"q": "globex-only"})
    # then nothing of globex shows
    assert response.status_code == 200
    assert _ids_on_page(response) == [] and "confidential" not in response.content.decode()
    assert "confidential" not in client_for(workspace, owner).get("/audit/").content.decode()


def test_audit_page_of_another_workspace_is_not_found_for_a_non_member(workspace, other_workspace, owner):
    # given acme's owner, who is not a member of globex
    # when they open globex's audit page and export
    client = client_for(other_workspace, owner)
    # then neither exists for them
    assert client.get("/audit/").status_code == 404
    assert client.get("/audit/export", {"format": "csv"}).status_code == 404


def _stream(response) -> str:
    return b"".join(response.streaming_content).decode()


def test_export_csv_streams_the_filtered_events(workspace, owner):
    # given a few events
    login = record(action="login", actor=owner, workspace=workspace, details={"via": "password"})
    record(action="logout", actor=owner, workspace=workspace)
    # when exported as CSV filtered to logins
    response = client_for(workspace, owner).get("/audit/export", {"format": "csv", "action": "login"})
    # then it is a streamed CSV attachment with a header and the one match
    assert response.status_code == 200 and response.streaming
    assert response["Content-Type"].startswith("text/csv")
    assert response["Content-Disposition"].startswith('attachment; filename="audit-acme-')
    rows = list(csv.DictReader(io.StringIO(_stream(response))))
    assert [(r["id"], r["action"], r["actor"]) for r in rows] == [(str(login.pk), "login", owner.email)]
    assert json.loads(rows[0]["details"]) == {"via": "password"}


def test_export_jsonl_streams_one_object_per_line(workspace, owner):
    # given a few events
    record(action="login", actor=owner, workspace=workspace)
    record(action="logout", actor=owner, workspace=workspace)
    # when exported as JSON Lines
    response = client_for(workspace, owner).get("/audit/export", {"format": "jsonl", "actor": owner.email})
    # then each line is one event, oldest first, ending with the export's own record
    lines = [json.loads(line) for line in _stream(response).splitlines()]
    assert [line["action"] for line in lines][-3:] == ["login", "logout", "data_exported"]
    assert all(line["actor"] == owner.email for line in lines)


def test_export_neutralises_spreadsheet_formulas(workspace, owner):
    # given an attacker-chosen value that a spreadsheet would run as a formula
    record(action="login_failed", workspace=workspace, user_agent="=HYPERLINK(\"http://evil.test\")",
           details={"email": "x@y.test"})
    # when exported as CSV
    response = client_for(workspace, owner).get("/audit/export", {"format": "csv", "action": "login_failed"})
    # then the cell is text, not a formula
    row = next(csv.DictReader(io.StringIO(_stream(response))))
    assert row["user_agent"] == "'=HYPERLINK(\"http://evil.test\")"


def test_export_refuses_an_unknown_format(workspace, owner):
    # given an owner
    # when they ask for an XML export
    response = client_for(workspace, owner).get("/audit/export", {"format": "xml"})
    # then it is refused and nothing is recorded as exported
    assert response.status_code == 400
    assert events(workspace, action="data_exported") == []


def test_export_never_includes_another_workspaces_events(workspace, other_workspace, owner):
    # given events in both workspaces
    record(action="login", workspace=workspace, details={"ws": "acme"})
    record(action="login", workspace=other_workspace, details={"ws": "globex"})
    # when acme's owner exports everything
    body = _stream(client_for(workspace, owner).get("/audit/export", {"format": "jsonl"}))
    # then no globex event is in it
    assert '"acme"' in body and "globex" not in body
