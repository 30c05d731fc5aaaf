"""The one in-process cache: what the request path reads instead of the database.

A steady-state request reads only process memory (DESIGN.md, "Request path"): hosts,
keys, policies and metering plans live in a `LocalCache` each. Every cache has the same
three guards, so none can serve a stale or unbounded answer:

- invalidation: a change publishes a topic (core.invalidation.publish) that every process
  applies within a second; `topics(topic)` says which entries a topic drops (ALL, one key,
  or None for a topic that isn't this cache's); "all" (the listener reconnected) drops all;
- max age: an entry is trusted for core.invalidation.max_age() (AUTH_CACHE_TTL while this
  process hears invalidations, STALE_LIMIT while it doesn't); a remembered miss (None) for
  at most `negative_max_age`; `max_age=None` trusts entries until invalidated or replaced
  (for values that carry their own validity, like metering plans);
- size cap: at `max_entries` the cache is emptied before the next entry goes in, so a
  flood of unknown hosts or key ids can't grow memory (a cleared cache refills from the
  database, one query per entry).
"""

import threading
import time
from collections.abc import Callable, Hashable
from typing import Any

from core import invalidation

ALL = object()  # what `topics` returns for a topic that drops every entry
MISSING = object()  # what `get` returns when nothing fresh is held


class LocalCache:
    __slots__ = ("name", "_data", "_lock", "_topics", "_max_entries", "_negative_max_age", "_aged")

    def __init__(self, name: str, *, topics: Callable[[str], Any], max_entries: int = 10_000,
                 negative_max_age: float = 5.0, max_age: bool = True) -> None:
        self.name = name
        self._data: dict[Hashable, tuple[Any, float]] = {}
        self._lock = threading.Lock()
        self._topics = topics
        self._max_entries = max_entries
        self._negative_max_age = negative_max_age
        self._aged = max_age
        invalidation.register(self.on_invalidate)

    def get(self, key: Hashable) -> Any:
        """The value held for `key` (None for a remembered miss), or MISSING."""
        entry = self._data.get(key)
        if entry is None:
            return MISSING
        value, stored_at = entry
        if not self._aged:
            return value
        limit = invalidation.max_age()
        if value is None and self._negative_max_age < limit:
            limit = self._negative_max_age
        return value if time.monotonic() - stored_at < limit else MISSING

    def put(self, key: Hashable, value: Any) -> Any:
        """Hold `value` (None: remember that `key` is unknown); returns it."""
        with self._lock:
            if len(self._data) >= self._max_entries and key not in self._data:
                self._data.clear()
            self._data[key] = (value, time.monotonic())
        return value

    def get_or_load(self, key: Hashable, load: Callable[[Any], Any]) -> Any:
        value = self.get(key)
        return self.put(key, load(key)) if value is MISSING else value

    def drop(self, key: Hashable) -> None:
        with self._lock:
            self._data.pop(key, None)

    def clear(self) -> None:
        with self._lock:
            self._data.clear()

    def __len__(self) -> int:
        return len(self._data)

    def on_invalidate(self, topic: str) -> None:
        dropped = ALL if topic == "all" else self._topics(topic)
        if dropped is ALL:
            self.clear()
        elif dropped is not None:
            self.drop(dropped)
