"""The invalidation listener (core.invalidation) must never keep a process from exiting."""

import os
import subprocess
import sys
import time

from tests.ops.servers import ROOT

# The listener is a daemon thread: when the interpreter exits, it is frozen wherever it stands,
# possibly inside its Redis pool's lock. Here it is held there on purpose (its connection is
# made slowly: Connection() reads the package metadata, which takes milliseconds) while the
# process exits.
APP = """
import threading, time
import django
django.setup()
import redis.connection
from core import invalidation
from core.redis import get_redis

make_connection = redis.connection.ConnectionPool.make_connection

def slow_on_the_listener(self):
    if threading.current_thread().name == "tollgate-invalidation":
        time.sleep(1)
    return make_connection(self)

redis.connection.ConnectionPool.make_connection = slow_on_the_listener
get_redis()  # the process's shared client, closed when the interpreter exits
invalidation.ensure_listener()
time.sleep(0.2)
print("exiting")
"""


def test_a_process_exits_while_its_listener_is_still_connecting():
    env = {**os.environ, "DJANGO_SETTINGS_MODULE": "config.settings.test"}
    try:
        result = subprocess.run([sys.executable, "-c", APP], cwd=ROOT, env=env, capture_output=True, text=True,
                                timeout=30)
    except subprocess.TimeoutExpired:
        raise AssertionError("the process hung at exit (the listener held the shared pool's lock)") from None
    assert result.returncode == 0, result.stderr[-2000:]
    assert result.stdout.strip() == "exiting"


def test_max_age_follows_a_changed_setting_and_the_listeners_state(settings):
    from core import invalidation

    invalidation.ensure_listener()
    deadline = time.monotonic() + 5
    while not invalidation.listener_connected() and time.monotonic() < deadline:
        time.sleep(0.01)
    assert invalidation.listener_connected()
    assert invalidation.max_age() == settings.AUTH_CACHE_TTL
    # the TTL is read once, and again when the setting changes
    settings.AUTH_CACHE_TTL = 7
    assert invalidation.max_age() == 7
    # while the listener is not connected, entries are trusted for STALE_LIMIT only
    invalidation._state["connected"] = False
    try:
        assert invalidation.max_age() == invalidation.STALE_LIMIT
    finally:
        invalidation._state["connected"] = True
