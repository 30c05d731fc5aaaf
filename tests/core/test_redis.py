"""core.redis.execute: the metered path's own connection per thread, replaced when broken,
never retried after a timeout (the command may have run)."""

import os
import threading
import time

import pytest
import redis

from core import process
from core import redis as tenant_redis
from tests.servers import CuttingProxy


def test_execute_keeps_one_connection_per_thread(own_redis):
    first = tenant_redis.execute("CLIENT", "ID")
    assert tenant_redis.execute("CLIENT", "ID") == first
    other = []
    thread = threading.Thread(target=lambda: other.append(tenant_redis.execute("CLIENT", "ID")))
    thread.start()
    thread.join()
    assert other and other[0] != first
    # the pooled client is left alone: its connections are not the hot path's
    assert tenant_redis.get_redis().client_id() not in (first, other[0])


def test_execute_uses_the_database_of_the_url(own_redis, settings):
    settings.REDIS_URL = own_redis.url.rsplit("/", 1)[0] + "/3"
    tenant_redis.reset()
    tenant_redis.execute("SET", "where", "db3")
    assert redis.Redis.from_url(own_redis.url.rsplit("/", 1)[0] + "/3").get("where") == b"db3"
    assert redis.Redis.from_url(own_redis.url.rsplit("/", 1)[0] + "/0").get("where") is None


def test_a_connection_the_server_dropped_is_replaced_and_the_command_runs_once(own_redis):
    held = tenant_redis.execute("CLIENT", "ID")
    admin = redis.Redis.from_url(own_redis.url)
    assert admin.client_kill_filter(_id=held) == 1
    # when the next command finds its connection closed
    assert tenant_redis.execute("INCR", "counter") == 1
    # then it ran once, on a new connection
    assert admin.get("counter") == b"1"
    assert tenant_redis.execute("CLIENT", "ID") != held


def test_a_stopped_server_is_an_error_not_a_hang(own_redis):
    tenant_redis.execute("PING")
    own_redis.stop()
    started = time.monotonic()
    with pytest.raises(redis.ConnectionError):
        tenant_redis.execute("PING")
    assert time.monotonic() - started < 5
    # and it comes back by itself once the server does
    own_redis.start()
    assert tenant_redis.execute("PING") in (b"PONG", "PONG", True)


def test_a_timeout_is_not_retried_since_the_command_may_have_run(own_redis):
    tenant_redis.execute("PING")
    admin = redis.Redis.from_url(own_redis.url)
    # a script keeps the server busy longer than the client's 1 s socket timeout
    busy = threading.Thread(target=admin.eval, args=(
        "local t0 = redis.call('TIME') repeat local t = redis.call('TIME') "
        "until (t[1] - t0[1]) * 1000000 + (t[2] - t0[2]) > 1500000 return 1", 0))
    busy.start()
    time.sleep(0.2)
    with pytest.raises(redis.TimeoutError):
        tenant_redis.execute("INCR", "counter")
    busy.join()
    # the INCR queued behind the script ran once: a retry would have made it 2
    deadline = time.monotonic() + 5
    while admin.get("counter") is None and time.monotonic() < deadline:
        time.sleep(0.05)
    assert admin.get("counter") == b"1"
    assert tenant_redis.execute("INCR", "counter") == 2


def test_error_replies_raise_redis_py_s_own_exceptions_and_leave_the_connection_usable(own_redis):
    held = tenant_redis.execute("CLIENT", "ID")
    # the metering engine reloads its script on NoScriptError (a restarted or flushed Redis)
    with pytest.raises(redis.exceptions.NoScriptError):
        tenant_redis.execute("EVALSHA", "0" * 40, 0)
    tenant_redis.execute("SET", "text", "not a number")
    with pytest.raises(redis.ResponseError, match="not an integer"):
        tenant_redis.execute("INCR", "text")
    assert tenant_redis.execute("CLIENT", "ID") == held


def test_a_reply_larger_than_one_read_arrives_whole(own_redis):
    # 256 KiB: four reads of the 64 KiB buffer, sent well within the 1 s socket timeout
    value = bytes(range(256)) * 1024
    tenant_redis.execute("SET", "big", value)
    assert tenant_redis.execute("GET", "big") == value
    assert tenant_redis.execute("STRLEN", "big") == len(value)


def test_a_forked_child_gets_its_own_connection_and_the_parent_keeps_its_own(own_redis):
    parent = tenant_redis.execute("CLIENT", "ID")
    read, write = os.pipe()
    child = os.fork()
    if child == 0:  # the child: report its connection and pid, then leave without cleanup
        try:
            os.write(write, f"{tenant_redis.execute('CLIENT', 'ID')} {process.pid()} {os.getpid()}".encode())
        finally:
            os._exit(0)
    os.close(write)
    os.waitpid(child, 0)
    child_id, child_pid_seen, child_pid = os.read(read, 100).decode().split()
    os.close(read)
    assert int(child_id) != parent
    assert child_pid_seen == child_pid  # core.process follows the fork
    assert process.pid() == os.getpid()
    # the child's exit did not close the parent's socket
    assert tenant_redis.execute("CLIENT", "ID") == parent


def test_a_loading_reply_is_raised_and_the_connection_kept(own_redis):
    # given a connection to a Redis that is loading its data (a restart from a big AOF)
    own_redis.restart_loading()
    with pytest.raises(redis.exceptions.BusyLoadingError):
        tenant_redis.execute("INCR", "counter")
    held = tenant_redis.execute("CLIENT", "ID")  # CLIENT is served while loading
    # when a command gets -LOADING on it
    with pytest.raises(redis.exceptions.BusyLoadingError) as raised:
        tenant_redis.execute("INCR", "counter")
    # then it is raised (it once came back as the reply) and the sound connection is kept
    assert tenant_redis.execute("CLIENT", "ID") == held
    assert not tenant_redis.may_have_run(raised.value)


def test_a_reply_cut_mid_way_is_an_error_and_the_command_is_not_sent_again(own_redis, settings):
    # given the hot path's connection going through a proxy that will cut the next integer reply
    proxy = CuttingProxy(own_redis.port, cut=lambda reply: reply.startswith(b":"))
    settings.REDIS_URL = proxy.url
    tenant_redis.reset()
    try:
        # when the reply of a command that ran is cut after its first byte
        with pytest.raises(redis.ConnectionError) as raised:
            tenant_redis.execute("INCR", "counter")
        # then the error says the command may have run, and it ran once: sending it again
        # on a new connection (as for a connection found broken) would have counted it twice
        assert tenant_redis.may_have_run(raised.value)
        assert redis.Redis.from_url(own_redis.url).get("counter") == b"1"
        # and the next command gets a new connection
        assert tenant_redis.execute("INCR", "counter") == 2
    finally:
        proxy.close()
