"""One Redis client per process, with short timeouts so a dead Redis is noticed fast,
and `execute`, the hot path's own connection per thread."""

import os
import threading

import hiredis
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


_own = threading.local()


def execute(*args):
    """Send one command on this thread's own connection and return the reply (see send_packed)."""
    return send_packed(hiredis.pack_command(args))


def send_packed(command: bytes):
    """Send one command, already in RESP, on this thread's own connection; return the reply.

    For the metered request's one round trip. A connection borrowed from the client's
    pool costs ~40 us more a call (pool locks, a readiness poll, observability hooks:
    bench/README.md); this one is made from the same pool settings (URL, password, db,
    TLS, timeouts), so it talks to the same server. A connection found broken (Redis
    restarted) is replaced and the command sent once more; nothing is retried after a
    timeout, since the command may have run. Errors are redis-py's.
    """
    client = get_redis()
    packed = [command]
    for attempt in (0, 1):
        conn = _connection(client)
        try:
            conn.send_packed_command(packed, check_health=False)
            return conn.read_response()
        except redis.ConnectionError:
            conn.disconnect()
            if attempt:
                raise
        except redis.TimeoutError:
            conn.disconnect()
            raise
    raise AssertionError("unreachable")


def _connection(client: redis.Redis) -> redis.Connection:
    held = getattr(_own, "held", None)
    if held is None or held[0] is not client:
        if held is not None:
            held[1].disconnect()
        pool = client.connection_pool
        held = _own.held = (client, pool.connection_class(**pool.connection_kwargs))
    return held[1]
