"""core.cache.LocalCache and core.invalidation.publish: what a cache holds, when it lets go."""

import pytest
from django.db import transaction

from core import invalidation
from core.cache import ALL, MISSING, LocalCache


def _cache(**kw) -> LocalCache:
    return LocalCache("test", topics=lambda t: ALL if t == "thing:all" else (t[6:] if t.startswith("thing:") else None),
                      **kw)


def test_local_cache_drops_what_a_topic_names_and_everything_on_all():
    # given two held values and a remembered miss
    cache = _cache()
    cache.put("a", 1), cache.put("b", 2), cache.put("c", None)
    # when one is invalidated
    cache.on_invalidate("thing:a")
    # then only it is gone; an unrelated topic drops nothing; "all" drops everything
    assert (cache.get("a"), cache.get("b"), cache.get("c")) == (MISSING, 2, None)
    cache.on_invalidate("other:b")
    assert cache.get("b") == 2
    cache.on_invalidate("all")
    assert (cache.get("b"), cache.get("c")) == (MISSING, MISSING)


def test_local_cache_keeps_misses_apart_and_bounded():
    # given room for 2 values and 2 misses
    cache = _cache(max_entries=2, max_misses=2)
    cache.put("known", "v")
    # when a flood of unknown keys is remembered
    for i in range(5):
        cache.put(f"unknown{i}", None)
    # then the known value stays, and only the newest misses are kept
    assert cache.get("known") == "v"
    assert [cache.get(f"unknown{i}") for i in range(5)] == [MISSING, MISSING, MISSING, None, None]


def test_local_cache_does_not_keep_a_load_that_raced_an_invalidation():
    # given a load during which the entry is invalidated (a revoke committed meanwhile)
    cache = _cache()

    def load(key):
        cache.on_invalidate(f"thing:{key}")
        return "read before the change"

    # when
    answered = cache.get_or_load("k", load)
    # then the request gets what was read, but nothing is remembered
    assert answered == "read before the change"
    assert cache.get("k") is MISSING


def test_publish_invalidates_only_once_the_change_commits(django_capture_on_commit_callbacks):
    # given a handler listening, inside a transaction
    seen = []
    invalidation.register(seen.append)
    try:
        # when a change publishes and its transaction is rolled back
        with pytest.raises(RuntimeError), transaction.atomic():
            invalidation.publish("thing:rolled-back")
            raise RuntimeError
        # then nothing is invalidated (a cache refilled meanwhile would hold a row that never was)
        assert "thing:rolled-back" not in seen
        # and when another change publishes and commits, it is invalidated then, not before
        with django_capture_on_commit_callbacks(execute=True):
            invalidation.publish("thing:committed")
            assert "thing:committed" not in seen
        # (here at once; this process's listener may hear its own message a moment later too)
        assert [s for s in seen if s.startswith("thing:")][0] == "thing:committed"
    finally:
        invalidation._handlers.remove(seen.append)
