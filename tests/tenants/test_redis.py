"""tenants.redis.execute: the metered path's own connection per thread, replaced when broken,
never retried after a timeout (the command may have run)."""

import threading
import time

import pytest
import redis

from tenants import redis as tenant_redis


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
