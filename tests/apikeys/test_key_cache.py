"""Unknown key ids (issue 18, finding 7): answered with the same HMAC work as a wrong secret,
remembered in a bounded negative cache that a newly created key's invalidation clears."""

import time
from http import HTTPStatus

import pytest
from django.db import connection
from django.test.utils import CaptureQueriesContext

from apikeys import cache, keys
from apikeys.models import ApiKey
from apikeys.services import apikey_create
from core import invalidation
from core.redis import get_redis
from tests.apikeys.conftest import bearer, problem_of

INFO = "/api/v1/info"


def _digests_for(client, text: str, monkeypatch) -> int:
    """How many HMACs refusing `text` computed (apikeys.keys.digest, counted as it is called)."""
    computed = []
    digest = keys.digest
    monkeypatch.setattr(keys, "digest", lambda secret: computed.append(1) or digest(secret))
    response = client.get(INFO, **bearer(text))
    monkeypatch.setattr(keys, "digest", digest)
    assert problem_of(response)["code"] == "invalid_api_key"
    return len(computed)


def _wait_for(condition, timeout: float = 5.0) -> None:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            pytest.fail("condition not met in time")
        time.sleep(0.01)


def _listener_caught_up() -> None:
    """This process's listener connected and past every message sent before now: an earlier
    test's invalidation (a workspace's, which empties the key cache) arriving late would
    otherwise clear what a test just cached. Pub/sub delivers in order, so once a sentinel
    published now has been dispatched, everything before it has been too."""
    invalidation.ensure_listener()
    _wait_for(invalidation.listener_connected)
    sentinel, seen = f"test-sentinel:{time.monotonic_ns()}", []
    invalidation.register(seen.append)
    try:
        get_redis().publish(invalidation.channel(), sentinel)
        _wait_for(lambda: sentinel in seen)
    finally:
        invalidation._handlers.remove(seen.append)


def test_verify_computes_the_digest_for_unknown_ids_as_for_wrong_secrets(api_client, api_key, monkeypatch):
    # given a key, the same id with another secret, an id that does not exist, and the key
    # presented in the other environment
    row, text = api_key
    _, other_secret, _ = keys.generate()
    wrong_secret = keys.render(row.environment, row.key_id, other_secret)
    unknown_id = keys.render(row.environment, "zzzzzzzzzzzz", other_secret)
    swapped = text.replace("tg_live_", "tg_test_", 1)
    # when each is tried (twice for the unknown id: once from the database, once from the cache)
    costs = [_digests_for(api_client, t, monkeypatch) for t in (wrong_secret, unknown_id, unknown_id, swapped)]
    # then each cost the same one HMAC
    assert costs == [1, 1, 1, 1]


def test_key_create_publishes_its_id_so_every_process_drops_a_cached_miss(workspace, owner,
                                                                          django_capture_on_commit_callbacks):
    # given a subscriber on the invalidation channel (what every process's listener reads)
    pubsub = get_redis().pubsub(ignore_subscribe_messages=True)
    pubsub.subscribe(invalidation.channel())
    try:
        # when a key is created and its transaction commits
        with django_capture_on_commit_callbacks(execute=True):
            row, _ = apikey_create(workspace=workspace, name="new", actor=owner)
        # then its id is published
        topics = []
        deadline = time.monotonic() + 5
        while f"key:{row.key_id}" not in topics and time.monotonic() < deadline:
            message = pubsub.get_message(timeout=0.1)
            if message and message["type"] == "message":
                topics.append(message["data"].decode())
        assert f"key:{row.key_id}" in topics
    finally:
        pubsub.close()


def test_cached_miss_is_dropped_when_the_new_keys_invalidation_arrives(api_client, workspace):
    # given this process's listener on the channel, and a key id tried before its key existed
    _listener_caught_up()
    key_id, secret, digest = keys.generate()
    text = keys.render("live", key_id, secret)
    assert api_client.get(INFO, **bearer(text)).status_code == HTTPStatus.UNAUTHORIZED
    # when another process creates that key: its row is there, this process still remembers the miss...
    ApiKey.objects.create(workspace=workspace, name="made elsewhere", key_id=key_id, digest=digest, scopes=["read"])
    with CaptureQueriesContext(connection) as queries:
        still_refused = api_client.get(INFO, **bearer(text))
    assert still_refused.status_code == HTTPStatus.UNAUTHORIZED
    assert len(queries) == 0
    # ...until the creator's invalidation arrives over Redis
    get_redis().publish(invalidation.channel(), f"key:{key_id}")
    # then the key works at once
    _wait_for(lambda: cache.keys._cache._misses.get(key_id) is None)
    assert api_client.get(INFO, **bearer(text)).status_code == HTTPStatus.OK


def test_flood_of_unknown_ids_keeps_cached_keys_and_stays_bounded(api_client, api_key, monkeypatch):
    # given a cached key, and caches made small (the listener connected first: connecting clears them)
    _listener_caught_up()
    monkeypatch.setattr(cache.keys._cache, "_max_entries", 3)
    monkeypatch.setattr(cache.keys._cache, "_max_misses", 3)
    row, text = api_key
    assert api_client.get(INFO, **bearer(text)).status_code == HTTPStatus.OK
    # when five made-up ids are tried
    unknown = [keys.render("live", f"zzzzzzzzzz{i:02d}", text.rsplit("_", 1)[1]) for i in range(5)]
    for made_up in unknown:
        assert api_client.get(INFO, **bearer(made_up)).status_code == HTTPStatus.UNAUTHORIZED
    # then the real key is still served from memory, and only the newest misses are kept
    with CaptureQueriesContext(connection) as queries:
        assert api_client.get(INFO, **bearer(text)).status_code == HTTPStatus.OK
    assert [q["sql"] for q in queries.captured_queries if '"apikeys_apikey"' in q["sql"]] == []
    assert len(cache.keys._cache._misses) == 3
    assert "zzzzzzzzzz00" not in cache.keys._cache._misses and "zzzzzzzzzz04" in cache.keys._cache._misses


def test_cached_miss_is_trusted_only_for_its_age(api_client, api_key, monkeypatch):
    # given misses that age out at once
    monkeypatch.setattr(cache.keys._cache, "_negative_max_age", 0.0)
    row, text = api_key
    unknown = text.replace(row.key_id, "zzzzzzzzzzzz")
    api_client.get(INFO, **bearer(unknown))
    # when it is tried again
    with CaptureQueriesContext(connection) as queries:
        api_client.get(INFO, **bearer(unknown))
    # then the database is asked again
    assert len([q for q in queries.captured_queries if '"apikeys_apikey"' in q["sql"]]) == 1
