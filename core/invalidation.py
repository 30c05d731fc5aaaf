"""In-process caches invalidated across every process through Redis pub/sub.

A revoked key, a suspended workspace or a changed domain must stop being served by
every gunicorn worker within a second, while a steady-state request reads nothing
but process memory. Each process runs one listener thread on the channel; every
cache registers a handler. While the listener is not connected, an entry is trusted
for at most STALE_LIMIT seconds, and on (re)connect every cache is cleared, since
messages sent meanwhile were missed.
"""

import logging
import threading
import time
from collections.abc import Callable
from typing import Any

from django.db import transaction

from core import hot_settings, process
from core.redis import get_redis, new_client

logger = logging.getLogger(__name__)

STALE_LIMIT = 1.0


def channel(client=None) -> str:
    """Pub/sub ignores Redis DB numbers: name the DB, so deployments (or test runs) sharing
    a server in different DBs don't clear each other's caches."""
    client = client or get_redis()
    pool = getattr(client, "connection_pool", None)  # a RedisCluster has none: its one database is 0
    return f"tollgate:invalidate:db{pool.connection_kwargs.get('db', 0) if pool is not None else 0}"

_handlers: list[Callable[[str], None]] = []
_state: dict[str, Any] = {"pid": None, "connected": False}
_start_lock = threading.Lock()


def register(handler: Callable[[str], None]) -> None:
    """handler(topic) is called with topics like 'key:12', 'workspace:3', 'host', 'all'."""
    _handlers.append(handler)


def _dispatch(topic: str) -> None:
    for handler in _handlers:
        try:
            handler(topic)
        except Exception:
            logger.exception("cache invalidation handler failed for %s", topic)


def publish(topic: str) -> None:
    """Invalidate `topic` in this process and every other once the transaction commits.

    Not before: a cache cleared before the commit can be refilled, by a request reading the
    old committed row meanwhile, and would then serve the old row until its max age.
    """

    def send() -> None:
        _dispatch(topic)
        try:
            get_redis().publish(channel(), topic)
        except Exception:
            # Other processes then fall back to STALE_LIMIT: their listener is down too.
            logger.warning("could not publish invalidation %s", topic)

    transaction.on_commit(send)


def listener_connected() -> bool:
    return bool(_state["connected"]) and _state["pid"] == process.pid()


def max_age() -> float:
    """How long a cached entry may be trusted right now: AUTH_CACHE_TTL while this process's
    listener is connected, else STALE_LIMIT (starting the listener if this process has none)."""
    ensure_listener()
    return hot_settings.get("AUTH_CACHE_TTL") if listener_connected() else STALE_LIMIT


def ensure_listener() -> None:
    if _state["pid"] == process.pid():
        return
    with _start_lock:
        if _state["pid"] == process.pid():
            return
        _state["pid"] = process.pid()
        _state["connected"] = False
        thread = threading.Thread(target=_listen, name="tollgate-invalidation", daemon=True)
        thread.start()


def _listen() -> None:
    backoff = 0.1
    # A client (and pool) of its own, only ever referenced from this thread: a daemon thread
    # is frozen where it stands when the interpreter exits, possibly holding its pool's lock,
    # and the process's shared client, closed at exit, must not wait for that lock forever.
    client = new_client()
    while True:
        pubsub = None
        try:
            pubsub = client.pubsub(ignore_subscribe_messages=True)
            pubsub.subscribe(channel(client))
            # Anything published while we were away was missed: start clean.
            _dispatch("all")
            _state["connected"] = True
            backoff = 0.1
            while True:
                message = pubsub.get_message(timeout=1.0)
                if message and message.get("type") == "message":
                    data = message["data"]
                    _dispatch(data.decode() if isinstance(data, bytes) else str(data))
        except Exception:
            _state["connected"] = False
            logger.debug("invalidation listener lost Redis; retrying in %.1fs", backoff)
            time.sleep(backoff)
            backoff = min(backoff * 2, 2.0)
        finally:
            _state["connected"] = False
            if pubsub is not None:
                try:
                    pubsub.close()
                except Exception:  # noqa: S110
                    pass
