"""core.db.connection: the thread's DatabaseWrapper, the one django.db.connection stands for."""

import threading

from django.db import connection as django_connection
from django.db import connections

from core import db
from tests.conftest import make_workspace


def test_it_is_this_threads_connection_and_another_thread_gets_its_own():
    held = db.connection()
    assert held is connections["default"]
    assert db.connection() is held
    seen = []
    thread = threading.Thread(target=lambda: seen.append((db.connection(), connections["default"])))
    thread.start()
    thread.join()
    [(theirs, their_django)] = seen
    assert theirs is their_django and theirs is not held


def test_a_schema_set_through_it_is_the_one_django_queries_use():
    workspace = make_workspace("dbheld")
    try:
        db.connection().set_tenant(workspace)
        assert django_connection.schema_name == workspace.schema_name
        with django_connection.cursor() as cursor:
            cursor.execute("SELECT current_schema()")
            assert cursor.fetchone()[0] == workspace.schema_name
    finally:
        django_connection.set_schema_to_public()
