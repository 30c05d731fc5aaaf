"""The usage page (/usage/ on a workspace host), its CSV export, and the keys page's usage
column: real calls through the pipeline (tests/metering/usage_helpers.py), real PostgreSQL
and Redis."""

import csv
import io
from datetime import timedelta
from http import HTTPStatus

import pytest

from accounts.models import Membership
from accounts.permissions import Role
from apikeys.services import apikey_create
from tests.accounts.helpers import field_errors
from tests.conftest import add_member, client_for
from tests.metering.usage_helpers import calls, chart_spec, drained
from tests.metering.usage_helpers import clock_now as clock_now  # noqa: PLC0414 - the fixture, by its name

pytestmark = pytest.mark.usefixtures("clock_now")


def _csv(response) -> list[dict]:
    body = b"".join(response.streaming_content).decode()
    return list(csv.DictReader(io.StringIO(body)))


# Permission -----------------------------------------------------------------------------------

def test_usage_page_sends_a_visitor_to_the_login(workspace):
    response = client_for(workspace).get("/usage/")
    assert response.status_code == HTTPStatus.FOUND
    assert response["Location"].startswith("/login/?next=/usage/")


@pytest.mark.parametrize("role", list(Role))
def test_usage_page_is_open_to_every_role(workspace, role):
    user = add_member(workspace, role)
    response = client_for(workspace, user).get("/usage/")
    assert response.status_code == HTTPStatus.OK
    assert b"<h1>Usage</h1>" in response.content


def test_usage_page_of_another_workspace_is_not_found(workspace, other_workspace):
    outsider = add_member(other_workspace, Role.OWNER)
    assert client_for(workspace, outsider).get("/usage/").status_code == HTTPStatus.NOT_FOUND
    assert client_for(workspace, outsider).get("/usage/export.csv").status_code == HTTPStatus.NOT_FOUND


def test_usage_page_refuses_a_suspended_member(workspace):
    user = add_member(workspace, Role.ADMIN, status=Membership.Status.SUSPENDED)
    assert client_for(workspace, user).get("/usage/").status_code == HTTPStatus.FORBIDDEN


# Empty state ----------------------------------------------------------------------------------

def test_usage_page_without_calls_shows_the_first_curl_with_the_workspaces_api_url(workspace, member):
    # given a workspace no one has called yet
    # when a member opens the usage page
    response = client_for(workspace, member).get("/usage/")
    # then it says so and gives a curl to this workspace's own API, instead of empty charts
    page = response.content.decode()
    assert response.status_code == HTTPStatus.OK
    assert "No calls in the last 24 hours yet" in page
    assert "curl -X POST http://acme.localhost/api/v1/analyze" in page
    assert 'data-chart="requests-data"' not in page


# Range ----------------------------------------------------------------------------------------

@pytest.mark.parametrize(("query", "field", "message"), [
    ({"range": "1y"}, "range", "Select a valid choice"),
    ({"range": "custom", "to": "2026-12-01"}, "from", "Choose the first day of the custom range."),
    ({"range": "custom", "from": "2026-12-01"}, "to", "Choose the last day of the custom range."),
    ({"range": "custom", "from": "2026-13-01", "to": "2026-12-02"}, "from", "Enter a date as YYYY-MM-DD"),
    ({"range": "custom", "from": "2026-11-10", "to": "2026-11-01"}, "to", "'To' must be on or after 'From'."),
    ({"range": "custom", "from": "2024-01-01", "to": "2025-06-30"}, "from", "A custom range spans at most 366 days"),
    ({"range": "custom", "from": "2999-01-01", "to": "2999-01-02"}, "from", "The range can't start in the future"),
])
def test_usage_page_says_what_is_wrong_with_a_range_next_to_its_field(workspace, member, query, field, message):
    response = client_for(workspace, member).get("/usage/", query)
    assert response.status_code == HTTPStatus.BAD_REQUEST
    errors = field_errors(response)
    assert list(errors) == [field]
    assert errors[field][0].startswith(message)
    # and the export refuses the same range the same way (no file of a range that makes no sense)
    export = client_for(workspace, member).get("/usage/export.csv", query)
    assert export.status_code == HTTPStatus.BAD_REQUEST
    assert list(field_errors(export)) == [field]


def test_usage_page_custom_range_draws_days_past_a_week_and_hours_up_to_one(workspace, member, api_client, api_key,
                                                                           clock_now):
    calls(api_client, workspace, api_key[1], admitted=1)
    drained()
    today = clock_now.at
    from datetime import UTC, datetime
    day = datetime.fromtimestamp(today, tz=UTC).date()
    client = client_for(workspace, member)
    # a custom range of 10 days is drawn by day, its last bar today
    spec = chart_spec(client.get("/usage/", {"range": "custom", "from": f"{day - timedelta(days=9)}", "to": f"{day}"}),
                      "requests")
    assert spec["granularity"] == "day"
    assert len(spec["x"]) == 10
    assert spec["series"][0] == {"label": "admitted", "values": [0] * 9 + [1]}
    # and one of 2 days by hour, up to the end of the current hour
    spec = chart_spec(client.get("/usage/", {"range": "custom", "from": f"{day - timedelta(days=1)}", "to": f"{day}"}),
                      "requests")
    assert spec["granularity"] == "hour"
    assert len(spec["x"]) == 24 + datetime.fromtimestamp(today, tz=UTC).hour + 1


# With calls -----------------------------------------------------------------------------------

def test_usage_page_shows_admitted_and_refused_calls_of_a_key_after_the_drain(workspace, owner, member, api_client):
    # given a new key that made 3 admitted calls and 2 refused ones, drained
    _row, key = apikey_create(workspace=workspace, name="billing worker", scopes=["read", "write"], actor=owner)
    calls(api_client, workspace, key, admitted=3, refused=2)
    drained()
    # when a member opens the usage page (last 24 hours)
    response = client_for(workspace, member).get("/usage/")
    # then the requests chart's last bar (this hour) is 3 admitted and 2 refused
    spec = chart_spec(response, "requests")
    assert spec["kind"] == "stacked" and spec["granularity"] == "hour" and len(spec["x"]) == 24
    assert [s["label"] for s in spec["series"]] == ["admitted", "refused"]
    assert spec["series"][0]["values"] == [0] * 23 + [3]
    assert spec["series"][1]["values"] == [0] * 23 + [2]
    # and the key and the endpoint have their series, the key its row among the top keys
    by_key = chart_spec(response, "by-key")
    assert [(s["label"], s["values"][-1]) for s in by_key["series"]] == [("billing worker", 5)]
    by_endpoint = chart_spec(response, "by-endpoint")
    assert [(s["label"], s["values"][-1]) for s in by_endpoint["series"]] == [("/api/v1/analyze", 5)]
    latency = chart_spec(response, "latency")
    assert [s["label"] for s in latency["series"]] == ["p50", "p95", "p99"]
    assert latency["series"][0]["values"][-1] > 0 and latency["series"][0]["values"][0] is None
    page = response.content.decode()
    assert "<strong>3</strong> admitted, <strong>2</strong> refused" in page
    assert "No calls" not in page


def test_usage_page_shows_the_current_quota_windows_with_their_resets(workspace, member, api_client, api_key):
    calls(api_client, workspace, api_key[1], admitted=2)
    response = client_for(workspace, member).get("/usage/")
    [gauge] = response.context["report"].gauges
    assert (gauge.title, gauge.used, gauge.limit, gauge.percent, gauge.over) == ("requests · this hour", 2, 2, 100, True)
    assert gauge.reset.minute == 0 and gauge.reset > response.context["report"].now
    assert 'max="2" value="2"' in response.content.decode()


def test_usage_page_says_when_quota_counts_are_unavailable(workspace, member, own_redis):
    own_redis.stop()
    response = client_for(workspace, member).get("/usage/")
    assert response.status_code == HTTPStatus.OK
    assert "Quota counts are unavailable right now" in response.content.decode()


def test_usage_export_holds_what_the_page_shows(workspace, owner, member, api_client):
    # given calls of a key whose name a spreadsheet would run as a formula
    row, key = apikey_create(workspace=workspace, name="=HYPERLINK(1)", scopes=["read", "write"], actor=owner)
    calls(api_client, workspace, key, admitted=3, refused=1)
    drained()
    client = client_for(workspace, member)
    page = client.get("/usage/", {"range": "7d"})
    # when the member exports the same range
    response = client.get("/usage/export.csv", {"range": "7d"})
    # then it is a CSV of every series of every chart, bucket by bucket, then the top keys
    assert response.status_code == HTTPStatus.OK
    assert response["Content-Type"] == "text/csv; charset=utf-8"
    assert response["Content-Disposition"].startswith('attachment; filename="usage-acme-')
    rows = _csv(response)
    report = page.context["report"]
    assert len([r for r in rows if r["chart"] == "requests"]) == 2 * 7 * 24
    shown = {(c.id, label): values for c in report.charts for label, values in c.series}
    for (chart, label), values in shown.items():
        exported = [r["value"] for r in rows if r["chart"] == chart and r["series"] == label.replace("=", "'=", 1)]
        assert exported == ["" if v is None else str(v) for v in values], (chart, label)
    last = rows[2 * 7 * 24 // 2 - 1]
    assert (last["chart"], last["series"], last["value"], last["unit"]) == ("requests", "admitted", "3", "requests")
    # and the key's name can't run as a formula
    top = [r for r in rows if r["chart"] == "top-keys"]
    assert [(r["series"], r["value"]) for r in top] == [
        (f"'=HYPERLINK(1) ({row.prefix}) requests", "4"), (f"'=HYPERLINK(1) ({row.prefix}) refused", "1"),
        (f"'=HYPERLINK(1) ({row.prefix}) errors", "0")]


# Workspaces apart -----------------------------------------------------------------------------

def test_usage_of_another_workspace_is_not_on_the_page_nor_in_the_export(workspace, other_workspace, member,
                                                                        api_client):
    # given calls made only in the other workspace, with a key named for it
    other_owner = add_member(other_workspace, Role.OWNER)
    _row, key = apikey_create(workspace=other_workspace, name="globex secret project", scopes=["read", "write"],
                              actor=other_owner)
    calls(api_client, other_workspace, key, admitted=2, refused=1)
    drained()
    # when a member of the first opens its usage page and export
    client = client_for(workspace, member)
    page = client.get("/usage/")
    export = client.get("/usage/export.csv")
    # then none of it is there
    assert page.context["report"].empty
    assert "No calls in the last 24 hours yet" in page.content.decode()
    assert "globex" not in page.content.decode()
    rows = _csv(export)
    assert {r["value"] for r in rows if r["chart"] != "latency"} == {"0"}
    assert "globex" not in str(rows)
    # while the other workspace's own page shows them
    other = client_for(other_workspace, other_owner).get("/usage/")
    assert chart_spec(other, "requests")["series"][0]["values"][-1] == 2


# The keys page --------------------------------------------------------------------------------

def test_keys_page_shows_each_keys_calls_in_the_last_24_hours(workspace, owner, api_client, api_key):
    quiet, _ = apikey_create(workspace=workspace, name="quiet", scopes=["read"], actor=owner)
    calls(api_client, workspace, api_key[1], admitted=2, refused=1)
    drained()
    page = client_for(workspace, owner).get("/keys/").content.decode()
    assert "Calls (24 h)" in page
    row = page[page.index(f'id="key-{api_key[0].key_id}"'):]
    assert '<td class="num key-calls">3</td>' in row[:row.index("</tr>")]
    row = page[page.index(f'id="key-{quiet.key_id}"'):]
    assert '<td class="num key-calls">0</td>' in row[:row.index("</tr>")]


# The overview's chart -------------------------------------------------------------------------

def test_requests_chart_tag_draws_the_last_24_hours_for_a_member(workspace, member, api_client, api_key, rf):
    from django.template import engines

    calls(api_client, workspace, api_key[1], admitted=1, refused=1)
    drained()
    template = engines["django"].from_string("{% load usage %}{% requests_chart %}")
    request = rf.get("/")
    request.tenant, request.membership = workspace, Membership.objects.get(user=member, workspace=workspace)
    html = template.render({"request": request})
    assert 'data-chart="requests-data"' in html and 'href="/usage/"' in html
    # and nothing for someone who is not a member
    request.membership = None
    assert "usage-chart" not in template.render({"request": request})
