"""The one in-process cache: what the request path reads instead of the database.

A steady-state request reads only process memory (DESIGN.md, "Request path"): hosts, keys,
policies and metering plans live in a `LocalCache` each. Every cache has the same guards, so
none can serve a stale or unbounded answer:

- invalidation: a change publishes a topic (core.invalidation.publish) after its commit, which
  every process applies within a second; `topics(topic)` says which entries a topic drops (ALL,
  one key, or None for a topic that isn't this cache's); "all" (the listener reconnected:
  messages may have been missed) drops everything;
- a load that raced an invalidation is not kept: `get_or_load` answers with what it read, but
  stores it only if no invalidation arrived meanwhile (it may have read the row just before a
  revoke committed, and would otherwise outlive the message);
- max age: an entry is trusted for core.invalidation.max_age() (AUTH_CACHE_TTL while this
  process hears invalidations, STALE_LIMIT while it doesn't); a remembered miss (None) for at
  most `negative_max_age`; `max_age=False` keeps entries until invalidated or replaced (for
  values that carry their own validity, like metering plans);
- size caps: at `max_entries` the cache is emptied before the next entry goes in; misses are
  held apart, at most `max_misses`, the oldest dropped first, so a flood of made-up hosts or key
  ids costs one query each and never pushes out what is known.
"""

import threading
import time
from collections import OrderedDict
from collections.abc import Callable, Hashable
from typing import Any

from core import invalidation

ALL = object()  # what `topics` returns for a topic that drops every entry
MISSING = object()  # what `get` returns when nothing fresh is held


class LocalCache:
    __slots__ = ("name", "_data", "_misses", "_lock", "_topics", "_max_entries", "_max_misses",
                 "_negative_max_age", "_aged", "_generation")

    def __init__(self, name: str, *, topics: Callable[[str], Any], max_entries: int = 10_000,
                 max_misses: int = 10_000, negative_max_age: float = 5.0, max_age: bool = True) -> None:
        self.name = name
        self._data: dict[Hashable, tuple[Any, float]] = {}
        self._misses: OrderedDict[Hashable, float] = OrderedDict()  # unknown key -> when looked up
        self._lock = threading.Lock()
        self._topics = topics
        self._max_entries = max_entries
        self._max_misses = max_misses
        self._negative_max_age = negative_max_age
        self._aged = max_age
        self._generation = 0  # bumped by every invalidation (see get_or_load)
        invalidation.register(self.on_invalidate)

    def get(self, key: Hashable) -> Any:
        """The value held for `key`, None for a remembered miss, or MISSING."""
        entry = self._data.get(key)
        if entry is not None:
            if not self._aged or time.monotonic() - entry[1] < invalidation.max_age():
                return entry[0]
            return MISSING
        missed = self._misses.get(key)
        if missed is not None and time.monotonic() - missed < min(self._negative_max_age, invalidation.max_age()):
            return None
        return MISSING

    def put(self, key: Hashable, value: Any, *, generation: int | None = None) -> Any:
        """Hold `value` (None: remember that `key` is unknown) unless an invalidation arrived since
        `generation` (what `_generation` was before the value was read: get_or_load); returns `value`."""
        with self._lock:
            if generation is not None and generation != self._generation:
                return value
            now = time.monotonic()
            if value is None:
                self._data.pop(key, None)
                self._misses.pop(key, None)
                self._misses[key] = now
                while len(self._misses) > self._max_misses:
                    self._misses.popitem(last=False)
                return value
            self._misses.pop(key, None)
            if len(self._data) >= self._max_entries and key not in self._data:
                self._data.clear()
            self._data[key] = (value, now)
        return value

    def get_or_load(self, key: Hashable, load: Callable[[Any], Any]) -> Any:
        """The held value, or `load(key)`'s (kept unless an invalidation raced the load)."""
        value = self.get(key)
        if value is not MISSING:
            return value
        generation = self._generation
        return self.put(key, load(key), generation=generation)

    def drop(self, key: Hashable) -> None:
        with self._lock:
            self._generation += 1
            self._data.pop(key, None)
            self._misses.pop(key, None)

    def clear(self) -> None:
        with self._lock:
            self._generation += 1
            self._data.clear()
            self._misses.clear()

    def on_invalidate(self, topic: str) -> None:
        dropped = ALL if topic == "all" else self._topics(topic)
        if dropped is ALL:
            self.clear()
        elif dropped is not None:
            self.drop(dropped)
