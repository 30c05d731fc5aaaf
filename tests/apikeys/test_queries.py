"""The hot path: a steady-state key-authenticated request costs no SQL query."""

from http import HTTPStatus

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from core import invalidation
from tests.apikeys.conftest import bearer


@pytest.fixture
def invalidations():
    """Topics this process received while the test ran (other test runs share the Redis channel)."""
    seen: list[str] = []
    invalidation._handlers.append(seen.append)
    yield seen
    invalidation._handlers.remove(seen.append)


def _steady_state_queries(client, path, text, invalidations) -> list[str]:
    # A message from elsewhere (another process publishing on the shared channel, or this
    # process's listener connecting and clearing its caches) makes a request cold again:
    # measure a request during which nothing was invalidated.
    for _ in range(5):
        assert client.get(path, **bearer(text)).status_code == HTTPStatus.OK  # warm
        invalidations.clear()
        with CaptureQueriesContext(connection) as queries:
            response = client.get(path, **bearer(text))
        assert response.status_code == HTTPStatus.OK
        if not invalidations:
            return [q["sql"] for q in queries.captured_queries]
    pytest.fail(f"caches were invalidated during every attempt: {invalidations}")


def test_info_steady_state_costs_no_sql(api_client, api_key, invalidations):
    # given a key that has been used once (key, workspace and plan cached)
    _, text = api_key
    # when the second request is measured
    queries = _steady_state_queries(api_client, "/api/v1/info", text, invalidations)
    # then
    assert queries == []


def test_first_request_costs_one_lookup(api_client, api_key):
    # given empty caches
    _, text = api_key
    invalidation._dispatch("all")
    # when
    with CaptureQueriesContext(connection) as queries:
        response = api_client.get("/api/v1/info", **bearer(text))
    # then the key (with its workspace) is one query; the plan policy may add its own
    assert response.status_code == HTTPStatus.OK
    key_lookups = [q for q in queries.captured_queries if '"apikeys_apikey"' in q["sql"]]
    assert len(key_lookups) == 1


def test_unknown_key_is_remembered_briefly(api_client, api_key):
    # given an unknown key id that has been tried once
    row, text = api_key
    unknown = text.replace(row.key_id, "zzzzzzzzzzzz")
    api_client.get("/api/v1/info", **bearer(unknown))
    # when it is tried again
    with CaptureQueriesContext(connection) as queries:
        response = api_client.get("/api/v1/info", **bearer(unknown))
    # then a flood of made-up keys does not reach the database each time
    assert response.status_code == HTTPStatus.UNAUTHORIZED
    assert len(queries) == 0
