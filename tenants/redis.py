"""One Redis client per process, with short timeouts so a dead Redis is noticed fast."""

import os
import threading

import redis
from django.conf import settings
from redis.backoff import NoBackoff
from redis.retry import Retry

_lock = threading.Lock()
_client: redis.Redis | None = None
_pid: int | None = None


def get_redis() -> redis.Redis:
    """The process's client (re-made after fork, so gunicorn workers never share a socket)."""
    global _client, _pid
    if _client is None or _pid != os.getpid():
        with _lock:
            if _client is None or _pid != os.getpid():
                _client = redis.Redis.from_url(
                    settings.REDIS_URL,
                    socket_connect_timeout=0.5,
                    socket_timeout=1.0,
                    health_check_interval=30,
                    # One immediate retry (a stale pooled connection), no backoff: a dead
                    # Redis must be noticed in milliseconds, the hot path then fails open.
                    retry=Retry(NoBackoff(), 1),
                )
                _pid = os.getpid()
    return _client


def reset() -> None:
    """Drop the client (tests that stop and restart Redis call this)."""
    global _client
    with _lock:
        if _client is not None:
            _client.close()
        _client = None
