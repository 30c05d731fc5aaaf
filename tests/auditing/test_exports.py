"""Exports at size: 100,000 events stream out in constant memory."""

import tracemalloc

from django.db import connection
from django_tenants.utils import schema_context

from tests.conftest import client_for

BIG = 100_000


def _bulk_events(workspace, count: int) -> None:
    """`count` events written in one statement (hashes are placeholders: this is about size, not the chain)."""
    with schema_context(workspace.schema_name), connection.cursor() as cursor:
        cursor.execute(
            """
            INSERT INTO auditing_auditevent
                (occurred_at, actor_type, actor_id, actor_label, action, severity, resource_type, resource_id,
                 ip, user_agent, request_id, outcome, details, pii_salt, pii_digest, hash_version, prev_hash, hash)
            SELECT now() - (n || ' seconds')::interval, 'user', '42', 'bulk' || n || '@acme.test', 'login', 'info',
                   'user', '42', '198.51.100.1', 'Mozilla/5.0 (X11; Linux x86_64) bulk-export-test',
                   md5(n::text), 'success',
                   jsonb_build_object('n', n, 'note', repeat('x', 60)), '', '', 2, md5((n - 1)::text), md5(n::text)
            FROM generate_series(1, %s) AS n
            """,
            [count],
        )


def _drain(response) -> tuple[int, int, int]:
    """Consume a streamed body chunk by chunk; returns (bytes, lines, peak traced memory)."""
    size = lines = 0
    tracemalloc.start()
    try:
        for chunk in response.streaming_content:
            size += len(chunk)
            lines += chunk.count(b"\n")
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    return size, lines, peak


def test_export_of_100k_events_streams_in_constant_memory(workspace, owner):
    # given a workspace with 100,000 events
    _bulk_events(workspace, BIG)
    client = client_for(workspace, owner)
    # when they are exported, and the body consumed as a client would, chunk by chunk
    response = client.get("/audit/export", {"format": "csv"})
    size, lines, peak = _drain(response)
    print(f"csv export: {size / 1e6:.1f} MB, peak traced memory {peak / 1e6:.2f} MB")
    # then every event is in it (plus the header, plus the export's own record)
    assert response.streaming
    assert lines == 1 + BIG + 1
    # and the memory the export used stays a small constant, far below the size of the body
    assert size > 25 * 1024 * 1024
    assert peak < 8 * 1024 * 1024, f"peak {peak / 1e6:.1f} MB for a {size / 1e6:.1f} MB export"


def test_export_memory_does_not_grow_with_the_number_of_events(workspace, owner):
    # given 2,000 events, exported once, then 18,000 more
    client = client_for(workspace, owner)
    _bulk_events(workspace, 2_000)
    small_size, _, small_peak = _drain(client.get("/audit/export", {"format": "jsonl"}))
    _bulk_events(workspace, 18_000)
    # when the ten times larger trail is exported
    big_size, big_lines, big_peak = _drain(client.get("/audit/export", {"format": "jsonl"}))
    print(f"jsonl: 2k events peak {small_peak / 1e6:.2f} MB, 20k events peak {big_peak / 1e6:.2f} MB")
    # then the body is ten times larger but the peak memory is about the same
    assert big_lines == 20_000 + 2  # both exports' own records
    assert big_size > 9 * small_size
    assert big_peak < small_peak * 1.5 + 512 * 1024, (small_peak, big_peak)


def test_api_export_streams_with_bounded_memory(workspace, admin_key, api_client):
    # given 30,000 events
    _bulk_events(workspace, 30_000)
    # when the API exports them as JSON Lines
    response = api_client.get("/api/v1/audit-logs", {"format": "jsonl", "action": "login"},
                              HTTP_AUTHORIZATION=f"Bearer {admin_key[1]}")
    size, lines, peak = _drain(response)
    # then every event is a line, and memory stays bounded
    assert lines == 30_000 and peak < 8 * 1024 * 1024


def test_export_of_an_empty_selection_is_just_the_header(workspace, owner):
    # given a workspace with no matching events
    # when exported as CSV with a filter that matches nothing
    response = client_for(workspace, owner).get("/audit/export", {"format": "csv", "action": "backup_failed"})
    # then the body is the header line only (every field quoted, as in every line)
    body = b"".join(response.streaming_content).decode()
    assert body.splitlines() == [
        '"id","occurred_at","actor_type","actor_id","actor","action","severity","resource_type","resource_id",'
        '"ip","user_agent","request_id","outcome","details","prev_hash","hash"']
