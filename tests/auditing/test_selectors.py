"""auditing.selectors: filters, search and keyset pages, always inside one workspace."""

import pytest
from django.utils import timezone

from auditing.filters import AuditFilterForm, AuditFilters
from auditing.selectors import audit_event_page, audit_event_rows, decode_cursor, encode_cursor
from auditing.services import record
from tests.auditing.conftest import backdate


def _filters(**params) -> AuditFilters:
    form = AuditFilterForm(params)
    assert form.is_valid(), form.errors
    return form.filters()


def _actions(workspace, **params) -> list[str]:
    page = audit_event_page(workspace=workspace, filters=_filters(**params), limit=200)
    return [e.action for e in page.events]


@pytest.fixture
def trail(workspace, owner, member, api_key):
    """A small trail: events by the owner, a member, a key and the system."""
    key, _ = api_key
    record(action="login", actor=owner, resource=owner, workspace=workspace)
    record(action="role_changed", actor=owner, resource=("membership", 7), workspace=workspace,
           details={"member": member.email, "from": "member", "to": "admin"})
    record(action="login_failed", severity="warning", outcome="failure", workspace=workspace,
           details={"email": "intruder@evil.test"})
    record(action="key_revoked", actor=key, resource=key, severity="warning", workspace=workspace,
           details={"prefix": key.prefix})
    record(action="logout", actor=member, workspace=workspace)
    return workspace


def test_filter_by_actor_email_key_prefix_or_system(trail, owner, api_key):
    # given the trail (the owner also created the key before it)
    key, _ = api_key
    # when filtered by each kind of actor
    # then only that actor's events remain
    assert _actions(trail, actor=owner.email.upper()) == ["role_changed", "login", "key_created"]
    assert _actions(trail, actor=f"user:{owner.pk}") == ["role_changed", "login", "key_created"]
    assert _actions(trail, actor=f"api_key:{key.pk}") == ["key_revoked"]
    assert _actions(trail, actor=key.prefix) == ["key_revoked"]
    assert _actions(trail, actor="system") == ["login_failed"]
    assert _actions(trail, actor_type="api_key") == ["key_revoked"]
    assert _actions(trail, actor="someone@else.test") == []


def test_filter_by_action_and_severity(trail):
    # given the trail
    # when filtered by actions (comma-separated) and by severity
    # then the matches come back newest first
    assert _actions(trail, action="login,logout") == ["logout", "login"]
    assert _actions(trail, severity="warning") == ["key_revoked", "login_failed"]
    assert _actions(trail, action="login", severity="warning") == []


def test_filter_by_resource_type_or_type_and_id(trail):
    # given the trail
    # when filtered by resource
    # then a type matches every id, and type:id one
    assert _actions(trail, resource="membership") == ["role_changed"]
    assert _actions(trail, resource="membership:7") == ["role_changed"]
    assert _actions(trail, resource="membership:8") == []


def test_search_finds_text_inside_details(trail, member):
    # given the trail
    # when searching the details
    # then any event mentioning the text matches, case-insensitively
    assert _actions(trail, q="INTRUDER@evil") == ["login_failed"]
    assert _actions(trail, q=member.email) == ["role_changed"]
    assert _actions(trail, q="no such text") == []


def test_filter_by_date_range(workspace):
    # given events ten days ago, three days ago and now
    old = record(action="login", workspace=workspace)
    mid = record(action="logout", workspace=workspace)
    record(action="login_failed", workspace=workspace)
    backdate(workspace, old, 10)
    backdate(workspace, mid, 3)
    today = timezone.now().date()
    # when filtered by dates (a bare date covers the whole day) and times
    # then only the events inside the range remain
    assert _actions(workspace, since=str(today - timezone.timedelta(days=5))) == ["login_failed", "logout"]
    assert _actions(workspace, until=str(today - timezone.timedelta(days=3))) == ["logout", "login"]
    assert _actions(workspace, since=str(today - timezone.timedelta(days=4)),
                    until=str(today - timezone.timedelta(days=2))) == ["logout"]
    assert _actions(workspace, since=(timezone.now() - timezone.timedelta(hours=1)).isoformat()) == ["login_failed"]


@pytest.mark.parametrize(("params", "field", "message"), [
    ({"action": "login,hacked"}, "action", "Unknown action 'hacked'"),
    ({"severity": "fatal"}, "severity", "Unknown severity 'fatal'"),
    ({"since": "yesterday"}, "since", "ISO 8601"),
    ({"until": "2026-02-30"}, "until", "ISO 8601"),
    ({"since": "2026-02-01", "until": "2026-01-01"}, "until", "must be after"),
    ({"actor_type": "robot"}, "actor_type", "Select a valid choice"),
])
def test_filter_form_names_the_bad_field(params, field, message):
    # given a bad filter
    form = AuditFilterForm(params)
    # when validated
    # then the error sits on that field and says what is wrong
    assert not form.is_valid()
    assert message in form.errors[field][0]


def test_keyset_pages_walk_every_event_once(workspace):
    # given 12 events
    ids = [record(action="login", workspace=workspace).pk for _ in range(12)]
    # when read five at a time, following the cursor
    seen, cursor, pages = [], None, 0
    while True:
        page = audit_event_page(workspace=workspace, filters=AuditFilters(), limit=5, cursor=cursor)
        seen += [e.pk for e in page.events]
        pages += 1
        cursor = page.next_cursor
        if cursor is None:
            break
    # then every event is seen once, newest first, in three pages
    assert seen == sorted(ids, reverse=True) and pages == 3


def test_keyset_page_is_stable_while_new_events_arrive(workspace):
    # given a first page of three events
    for _ in range(5):
        record(action="login", workspace=workspace)
    first = audit_event_page(workspace=workspace, filters=AuditFilters(), limit=3)
    # when new events arrive before the next page is read
    record(action="logout", workspace=workspace)
    second = audit_event_page(workspace=workspace, filters=AuditFilters(), limit=3, cursor=first.next_cursor)
    # then the next page continues where the first stopped (no duplicates, no new events mixed in)
    assert [e.action for e in second.events] == ["login", "login"]
    assert not {e.pk for e in first.events} & {e.pk for e in second.events}


@pytest.mark.parametrize("cursor", ["garbage", encode_cursor(5)[:-1] + "!", "eDox"])
def test_a_forged_cursor_is_refused(workspace, cursor):
    # given a cursor this module did not make
    # when a page is asked for with it
    # then it is refused with a clear message
    with pytest.raises(ValueError, match="cursor is not valid"):
        audit_event_page(workspace=workspace, filters=AuditFilters(), limit=5, cursor=cursor)


def test_cursor_round_trips():
    # given an id
    # when encoded and decoded
    # then it comes back
    assert decode_cursor(encode_cursor(123456)) == 123456


def test_selectors_read_only_the_named_workspace(workspace, other_workspace):
    # given events in two workspaces
    record(action="login", workspace=workspace, details={"who": "acme"})
    record(action="login", workspace=other_workspace, details={"who": "globex"})
    # when each is read
    a = audit_event_page(workspace=workspace, filters=AuditFilters(), limit=50).events
    rows = list(audit_event_rows(workspace=other_workspace, filters=AuditFilters()))
    # then each sees only its own
    assert [e.details for e in a] == [{"who": "acme"}]
    assert [r[13] for r in rows] == [{"who": "globex"}]


def test_selectors_refuse_the_public_tenant():
    # given the public site's tenant
    from tenants.selectors import public_tenant

    # when a workspace read is asked for it
    # then it is refused (platform events are for operators, in Django admin)
    with pytest.raises(ValueError, match="need a workspace"):
        audit_event_page(workspace=public_tenant(), filters=AuditFilters(), limit=5)
