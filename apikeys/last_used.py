"""last_used_at, written in batches: at most once a minute per key, never per request.

A request only notes the time in process memory; a daemon thread (its own DB
connection) writes the notes every FLUSH_SECONDS.
"""

import logging
import threading
import time
from datetime import UTC, datetime, timedelta

from django.db import close_old_connections, connection
from django.db.models import Q

from core import process

logger = logging.getLogger(__name__)
FLUSH_SECONDS = 60.0

_pending: dict[int, float] = {}
_state: dict[str, int | None] = {"pid": None}
_lock = threading.Lock()


def touch(key_pk: int, at: float | None = None) -> None:
    """Note that the key was used now (or at `at`, epoch seconds: the demo's sample calls)."""
    _pending[key_pk] = time.time() if at is None else at
    if _state["pid"] != process.pid():
        _start()


def _start() -> None:
    with _lock:
        if _state["pid"] == process.pid():
            return
        _state["pid"] = process.pid()
        threading.Thread(target=_loop, name="tollgate-last-used", daemon=True).start()


def _loop() -> None:
    while True:
        time.sleep(FLUSH_SECONDS)
        try:
            flush()
        except Exception:
            logger.exception("could not write last_used_at")
        finally:
            close_old_connections()


def flush() -> int:
    """Write pending last-used times; returns how many keys were updated."""
    from apikeys.models import ApiKey

    with _lock:
        batch = dict(_pending)
        _pending.clear()
    updated = 0
    connection.set_schema_to_public()  # type: ignore[attr-defined]  # django-tenants' backend
    for pk, ts in batch.items():
        when = datetime.fromtimestamp(ts, tz=UTC)
        updated += ApiKey.objects.filter(
            Q(last_used_at__isnull=True) | Q(last_used_at__lt=when - timedelta(seconds=FLUSH_SECONDS)), pk=pk
        ).update(last_used_at=when)
    return updated
