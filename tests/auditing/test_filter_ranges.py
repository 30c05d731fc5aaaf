"""Dates at the edge of what Python and PostgreSQL can hold, in the audit log's `since` / `until`:
the API answers a 400 problem naming the parameter, the page and its export a message next to
the field; nothing is exported (no data_exported event), nothing is a 500."""

from http import HTTPStatus

import pytest
from django.test import Client

from auditing.models import AuditEvent
from auditing.services import record
from tests.auditing.conftest import events
from tests.conftest import host_of

URL = "/api/v1/audit-logs"

# The last day Python can hold, as an inclusive `until`, ends at 10000-01-01 (OverflowError);
# the others lie beyond years 1-9999 once in UTC (and PostgreSQL refuses an offset of -23:59)
OUT_OF_RANGE = [("until", "9999-12-31"), ("until", "9999-12-31T23:59:59.999999-23:59"),
                ("since", "0001-01-01T00:00:00+05:00")]
# Odd but valid (PostgreSQL's timestamptz reaches far beyond Python's years 1-9999) or plainly invalid
ODD = ["9999-12-31", "9999-12-31T23:59:59.999999-23:59", "0001-01-01T00:00:00+05:00", "0001-01-01",
       "0000-01-01", "10000-01-01", "-0001-01-01", "2026-13-01", "2026-02-30", "2026-01-01T00:00:00+24:00",
       "2026-01-01T25:00:00", "2026-W01", "20260101", "\x00", "9" * 40]


def _api(admin_key) -> tuple[Client, dict]:
    return Client(HTTP_HOST="localhost", raise_request_exception=False), {"HTTP_AUTHORIZATION": f"Bearer {admin_key[1]}"}


def _page(workspace, user) -> Client:
    client = Client(HTTP_HOST=host_of(workspace), raise_request_exception=False)
    client.force_login(user)
    return client


@pytest.mark.parametrize(("field", "value"), OUT_OF_RANGE)
@pytest.mark.parametrize("fmt", ["json", "csv", "jsonl"])
def test_api_refuses_a_date_out_of_range_naming_it(workspace, admin_key, field, value, fmt):
    # given an admin key
    client, auth = _api(admin_key)
    # when a filter date is beyond what can be stored
    response = client.get(URL, {field: value, "format": fmt}, **auth)
    # then it is a problem naming the parameter, and nothing was exported
    assert response.status_code == HTTPStatus.BAD_REQUEST, response.content[:300]
    assert response["Content-Type"] == "application/problem+json"
    body = response.json()
    assert body["code"] == "invalid_input" and body["field"] == field
    assert "range" in body["detail"]
    assert events(workspace, action="data_exported") == []


@pytest.mark.parametrize(("params", "everything"), [
    ({"since": "0001-01-01", "until": "9999-12-30"}, True),
    ({"since": "9999-12-30"}, False),
    ({"until": "0001-01-02"}, False),
    ({"since": "0001-01-01T00:00:00-05:00", "until": "9999-12-31T23:59:59+05:00"}, True),
])
def test_api_accepts_dates_at_the_edge_of_the_range(workspace, admin_key, owner, params, everything):
    # given a few events
    record(action="login", actor=owner, workspace=workspace)
    client, auth = _api(admin_key)
    every = client.get(URL, **auth).json()["data"]
    # when filtered with dates far away but representable
    response = client.get(URL, params, **auth)
    # then it answers with every event or none
    assert response.status_code == HTTPStatus.OK
    assert response.json()["data"] == (every if everything else [])


@pytest.mark.parametrize("field", ["since", "until"])
@pytest.mark.parametrize("value", ODD)
def test_api_and_page_answer_odd_dates_without_a_500(workspace, admin_key, owner, field, value):
    # when
    api = _api(admin_key)[0].get(URL, {field: value}, **_api(admin_key)[1])
    page = _page(workspace, owner).get("/audit/", {field: value})
    # then each either filters or names the field
    assert api.status_code in (HTTPStatus.OK, HTTPStatus.BAD_REQUEST)
    assert page.status_code == api.status_code
    if api.status_code == HTTPStatus.BAD_REQUEST:
        assert api.json()["field"] == field
        assert list(page.context["form"].errors) == [field]


@pytest.mark.parametrize(("field", "value"), OUT_OF_RANGE)
def test_page_shows_a_date_out_of_range_next_to_the_field(workspace, owner, field, value):
    # when
    response = _page(workspace, owner).get("/audit/", {field: value})
    # then the page answers 400 with the message next to the field
    assert response.status_code == HTTPStatus.BAD_REQUEST
    form = response.context["form"]
    assert list(form.errors) == [field]
    assert "range" in form.errors[field][0]
    assert 'class="field-error"' in response.content.decode()


@pytest.mark.parametrize(("field", "value"), OUT_OF_RANGE)
def test_page_export_refuses_a_date_out_of_range(workspace, owner, field, value):
    # when
    response = _page(workspace, owner).get("/audit/export", {field: value, "format": "csv"})
    # then no export, the form again with the message
    assert response.status_code == HTTPStatus.BAD_REQUEST
    assert list(response.context["form"].errors) == [field]
    assert not AuditEvent.objects.filter(action="data_exported").exists()
    assert events(workspace, action="data_exported") == []
