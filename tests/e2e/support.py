"""Helpers for browser tests."""

import threading

from django.db import connection


def off_loop(fn):
    """Run fn() in its own thread and return its result.

    Playwright's sync API runs an event loop in the test's thread: Django refuses ORM
    calls there, and a connection opened in that context is not the test's own (it would
    stay open past the test database's teardown). A short thread with its own, closed,
    connection avoids both.
    """
    result = {}

    def run():
        try:
            result["value"] = fn()
        except BaseException as exc:  # re-raised in the test's thread
            result["error"] = exc
        finally:
            connection.close()

    thread = threading.Thread(target=run)
    thread.start()
    thread.join()
    if "error" in result:
        raise result["error"]
    return result["value"]
