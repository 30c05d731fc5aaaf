"""This thread's database connection, held instead of resolved on every use.

`django.db.connection` is a proxy that finds the thread's connection through asgiref's Local
on every attribute read (~18k instructions: a generator-based context manager and an asyncio
check), more than the schema switches it is used for on every request (tenant middleware, key
authentication). A thread's connection object (the DatabaseWrapper, whatever state its socket is
in) is the same for the thread's whole life, so it is looked up once per thread.
"""

import threading

from django.db import DEFAULT_DB_ALIAS, connections

_held = threading.local()


def connection():
    """This thread's default DatabaseWrapper: what `django.db.connection` stands for."""
    try:
        return _held.wrapper
    except AttributeError:
        _held.wrapper = connections[DEFAULT_DB_ALIAS]
        return _held.wrapper
