"""What record, retention and erasure share: the per-schema chain lock, and the door in the
database trigger that keeps audit rows append-only (auditing/migrations/0002_chain_guard.py)."""

from collections.abc import Iterator
from contextlib import contextmanager

from django.db import connection


def lock_chain(schema: str) -> None:
    with connection.cursor() as cursor:
        # One writer at a time per schema keeps the hash chain linear.
        cursor.execute("SELECT pg_advisory_xact_lock(hashtext(%s))", [f"audit:{schema}"])


@contextmanager
def trigger_door(setting: str) -> Iterator[None]:
    """Let the guard trigger through for the statements inside this block.

    set_config(..., true) is SET LOCAL: it could never outlive the transaction; closing it
    again at the end of the block keeps it from covering the caller's later statements too.
    """
    with connection.cursor() as cursor:
        cursor.execute("SELECT set_config(%s, 'on', true)", [setting])
    try:
        yield
    finally:
        if not connection.needs_rollback:
            with connection.cursor() as cursor:
                cursor.execute("SELECT set_config(%s, 'off', true)", [setting])
