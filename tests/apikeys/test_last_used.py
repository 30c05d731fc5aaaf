"""last_used_at is written in batches, at most about once a minute per key, never per request."""

from http import HTTPStatus

from django.db import connection
from django.test.utils import CaptureQueriesContext

from apikeys import last_used
from tests.apikeys.conftest import bearer


def test_request_notes_use_and_flush_writes_it_once(api_client, api_key):
    # given a key used twice
    row, text = api_key
    last_used.flush()  # nothing from earlier tests
    with CaptureQueriesContext(connection) as during:
        for _ in range(2):
            assert api_client.get("/api/v1/info", **bearer(text)).status_code == HTTPStatus.OK
    row.refresh_from_db()
    assert row.last_used_at is None
    assert not any(q["sql"].startswith("UPDATE") for q in during.captured_queries)
    # when the batch is written
    written = last_used.flush()
    # then one row is updated, once
    assert written == 1
    row.refresh_from_db()
    assert row.last_used_at is not None


def test_second_use_within_a_minute_writes_nothing(api_client, api_key):
    # given a key whose use was written
    row, text = api_key
    api_client.get("/api/v1/info", **bearer(text))
    last_used.flush()
    row.refresh_from_db()
    first = row.last_used_at
    # when it is used again within the minute and the batch is flushed
    api_client.get("/api/v1/info", **bearer(text))
    written = last_used.flush()
    # then nothing is written
    assert written == 0
    row.refresh_from_db()
    assert row.last_used_at == first


def test_flush_with_nothing_pending_writes_nothing(api_key):
    # given no use since the last flush
    last_used.flush()
    # when
    with CaptureQueriesContext(connection) as queries:
        written = last_used.flush()
    # then
    assert written == 0
    assert len(queries) == 0
