"""One Redis client per process, with short timeouts so a dead Redis is noticed fast,
and `execute`, the hot path's own connection per thread.

With REDIS_CLUSTER (TOLLGATE_REDIS_CLUSTER=true) REDIS_URL names a node of a Redis Cluster and
the process client is a redis.cluster.RedisCluster. The hot path then sends its one command
with `send_packed_routed(command, route)`: `route` is a key of the command's hash slot (every key
of a workspace shares its `{ws:<id>}` tag, metering/redis_keys.py), the command goes to that
slot's master on this thread's own connection to it, and a MOVED reply (the slot moved) makes
the client reread the cluster's layout and send it once more. The single-Redis path
(`send_packed`) is the same as without a cluster.
"""

import socket
import ssl
import struct
import threading
from typing import TYPE_CHECKING

import hiredis
import redis
from django.conf import settings
from redis._parsers.base import BaseParser
from redis.backoff import NoBackoff
from redis.cluster import RedisCluster
from redis.exceptions import InvalidResponse
from redis.retry import Retry

from core import process

_lock = threading.Lock()
_client: redis.Redis | None = None
_pid: int | None = None


def get_redis() -> redis.Redis:
    """The process's client (re-made after fork, so gunicorn workers never share a socket)."""
    global _client, _pid
    if _client is None or _pid != process.pid():
        with _lock:
            if _client is None or _pid != process.pid():
                _client = new_client()
                _pid = process.pid()
    return _client


def new_client() -> redis.Redis:
    """A client with its own pool and the process client's settings (for a thread that holds
    a connection for good, like the invalidation listener)."""
    if settings.REDIS_CLUSTER:
        return RedisCluster.from_url(  # type: ignore[return-value]  # the commands metering uses are common to both
            settings.REDIS_URL, socket_connect_timeout=0.5, socket_timeout=1.0, health_check_interval=30)
    return redis.Redis.from_url(
        settings.REDIS_URL,
        socket_connect_timeout=0.5,
        socket_timeout=1.0,
        health_check_interval=30,
        # One immediate retry (a stale pooled connection), no backoff: a dead
        # Redis must be noticed in milliseconds, the hot path then fails open.
        retry=Retry(NoBackoff(), 1),
    )


def reset() -> None:
    """Drop the client (tests that stop and restart Redis call this)."""
    global _client
    with _lock:
        if _client is not None:
            _client.close()
        _client = None


_own = threading.local()


class _Wire:
    """This thread's own connection to Redis for the hot path.

    redis-py opens it (URL, AUTH, SELECT, TLS, timeouts: the client's own settings, so it
    talks to the same server and database); after that a plain TCP or Unix socket is spoken
    to directly: a blocking socket whose timeouts the kernel enforces (SO_SNDTIMEO,
    SO_RCVTIMEO) and a hiredis reader. redis-py's own path costs more per call (bench/README.md):
    a socket with a Python-level timeout polls before each send and each receive (two more
    system calls per command) and its read goes through several layers. A TLS socket keeps
    redis-py's path.
    """

    __slots__ = ("client", "conn", "sock", "reader", "buf")

    def __init__(self, client: redis.Redis) -> None:
        pool = client.connection_pool
        self.client = client
        self.conn = pool.connection_class(**pool.connection_kwargs)
        self.sock: socket.socket | None = None  # connected lazily, and again after close()
        self.reader: hiredis.Reader | None = None
        self.buf: bytearray | None = None

    def _open(self) -> None:
        self.conn.connect()
        sock = self.conn._sock
        if isinstance(sock, socket.socket) and not isinstance(sock, ssl.SSLSocket):
            timeout = self.conn.socket_timeout or 0  # 0: no limit, as with redis-py
            limit = struct.pack("ll", int(timeout), int(timeout % 1 * 1_000_000))
            sock.settimeout(None)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_RCVTIMEO, limit)
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_SNDTIMEO, limit)
            self.reader = hiredis.Reader(replyError=BaseParser.parse_error, protocolError=InvalidResponse)
            self.buf = bytearray(65536)
        self.sock = sock

    def close(self) -> None:
        self.sock = self.reader = None
        self.conn.disconnect()

    def call(self, command: bytes):
        """Send the command and return its reply. An error reply comes back as redis-py's
        exception instance, not raised (hiredis makes them: ResponseError and its kin, and
        BusyLoadingError, a ConnectionError subclass); send_packed raises it. A failure of
        the connection itself is raised, marked (`_sent`) when the whole command had left."""
        if self.sock is None:
            self._open()
        if self.reader is None:  # TLS: redis-py's path
            self.conn.send_packed_command([command], check_health=False)
            try:
                return self.conn.read_response()
            except (redis.ResponseError, redis.exceptions.BusyLoadingError) as exc:
                return exc  # an error reply: the connection is sound
            except (redis.ConnectionError, redis.TimeoutError) as exc:
                raise _sent(exc, partial=False)
        # Set together by _open (this path only runs once it made a hiredis reader).
        sock, reader, buf = self.sock, self.reader, self.buf
        if TYPE_CHECKING:
            assert sock is not None and reader is not None and buf is not None
        try:
            sock.sendall(command)
        except BlockingIOError as exc:  # SO_SNDTIMEO ran out: the command never left whole
            raise redis.TimeoutError("Timeout talking to Redis") from exc
        except OSError as exc:
            raise redis.ConnectionError(f"Error talking to Redis: {exc}") from exc
        received = False
        try:
            reply = False
            while reply is False:
                n = sock.recv_into(buf)
                if not n:
                    raise redis.ConnectionError("Connection closed by server.")
                received = True
                reader.feed(buf, 0, n)  # type: ignore[arg-type]  # hiredis takes any buffer
                reply = reader.gets(False)
        except BlockingIOError as exc:  # SO_RCVTIMEO ran out
            raise _sent(redis.TimeoutError("Timeout talking to Redis"), partial=received) from exc
        except OSError as exc:
            raise _sent(redis.ConnectionError(f"Error talking to Redis: {exc}"), partial=received) from exc
        except redis.RedisError as exc:  # the connection closed, or a reply hiredis can't read
            raise _sent(exc, partial=received)
        return reply


def _sent(exc: redis.RedisError, *, partial: bool) -> redis.RedisError:
    """Mark a failure that came after the whole command had been sent: Redis may have run
    it. `partial`: part of its reply had come, so Redis certainly got it."""
    exc.tollgate_sent = True  # type: ignore[attr-defined]  # our mark on redis-py's exception
    exc.tollgate_partial = partial  # type: ignore[attr-defined]
    return exc


def may_have_run(exc: BaseException) -> bool:
    """Whether the command that failed with `exc` may have run all the same: its reply was
    lost or late (a timeout, a connection cut after sending). A caller that then does the
    work another way (the metering spool) must be able to tell the two apart later."""
    return getattr(exc, "tollgate_sent", False)


def execute(*args):
    """Send one command on this thread's own connection and return the reply (see send_packed)."""
    return send_packed(hiredis.pack_command(args))


def send_packed(command: bytes):
    """Send one command, already in RESP, on this thread's own connection; return the reply.

    For the metered request's one round trip (see _Wire). A connection found broken (Redis
    restarted) is replaced and the command sent once more; nothing is retried after a
    timeout or once part of the reply had come, since the command may have run.
    Every failure raises a redis.RedisError (redis-py's classes; `may_have_run` says which
    may have run all the same): an error reply (LOADING, READONLY, NOSCRIPT, ...) as it
    is, the connection kept, since it is sound.
    """
    return _send(command, get_redis(), _wire)


def _send(command: bytes, client: redis.Redis, wire_for):
    sent_before = False  # the first attempt's command went out whole (its connection then broke)
    for attempt in (0, 1):
        wire = wire_for(client)
        try:
            reply = wire.call(command)
        except redis.RedisError as exc:
            wire.close()
            partial = getattr(exc, "tollgate_partial", False)
            if sent_before:
                _sent(exc, partial=partial)
            if attempt or partial or not isinstance(exc, redis.ConnectionError):
                raise
            sent_before = may_have_run(exc)
            continue
        except Exception as exc:  # not redis-py's: e.g. an error reply hiredis failed to build
            wire.close()
            raise _sent(redis.RedisError(f"Unexpected failure talking to Redis: {exc!r}"), partial=True) from exc
        if isinstance(reply, Exception):
            if sent_before and isinstance(reply, redis.RedisError):
                _sent(reply, partial=False)
            raise reply
        return reply
    raise AssertionError("unreachable")


def execute_routed(route: str, *args):
    """`execute` to the Cluster node that holds `route`'s slot (REDIS_CLUSTER)."""
    return send_packed_routed(hiredis.pack_command(args), route)


def send_packed_routed(command: bytes, route: str):
    """`send_packed` to the master of `route`'s hash slot, on this thread's own connection to
    that node (REDIS_CLUSTER). A MOVED reply rereads the cluster's layout and sends once more:
    Redis refused the command without running it."""
    cluster = get_redis()
    for attempt in (0, 1):
        node = cluster.get_node_from_key(route)  # type: ignore[attr-defined]
        client = cluster.get_redis_connection(node)  # type: ignore[attr-defined]
        try:
            return _send(command, client, _node_wire)
        except redis.exceptions.MovedError:
            if attempt:
                raise
            cluster.nodes_manager.initialize()  # type: ignore[attr-defined]
    raise AssertionError("unreachable")


def _node_wire(client: redis.Redis) -> _Wire:
    """This thread's own connection to one Cluster node (one per node it has talked to)."""
    wires = getattr(_own, "node_wires", None)
    if wires is None:
        wires = _own.node_wires = {}
    wire = wires.get(id(client))
    if wire is None or wire.client is not client:
        wire = wires[id(client)] = _Wire(client)
    return wire


def _wire(client: redis.Redis) -> _Wire:
    wire = getattr(_own, "wire", None)
    if wire is None or wire.client is not client:
        if wire is not None:
            wire.close()
        wire = _own.wire = _Wire(client)
    return wire
