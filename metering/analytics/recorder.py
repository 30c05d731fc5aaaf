"""Request analytics recorded after the response, in process memory; flushed, never per request.

The metering check knows neither the response's status nor its latency (it runs before the
view), so what the usage event can't say is kept here: per (workspace, key, endpoint, status
class, UTC hour) a request count, the latencies' sum and a histogram (histogram.py). Adding
to it costs a dict lookup and a few integer additions under a lock: no SQL, no Redis.

A daemon thread per process (started by the first recorded request, again after a fork)
flushes every FLUSH_SECONDS into Redis, one pipeline per flush, and so does exit (atexit, and
gunicorn's worker_exit: deploy/gunicorn.conf.py). The drain then folds Redis into each
workspace's RequestHourly (metering/pipeline/request_stats.py).

Why Redis and not PostgreSQL straight from the web process: HINCRBY adds atomically, so every
worker's flush merges into one hash per workspace without a lock or a transaction, whatever
the number of workers; PostgreSQL would see every worker upsert the same hot rows every few
seconds (row locks between workers, a connection and a transaction each) and a slow database
would hold the web processes' memory. The drain, one writer per workspace under its rollup
lock, folds each workspace's hash in one transaction, exactly once (request_stats.py).

What may be lost: what a process recorded since its last flush if it is killed (SIGKILL, OOM)
or if Redis is down for longer than the process lives (a failed flush is kept and retried).
These are analytics, not billing: usage is the stream's, counted once (DESIGN.md).
"""

import atexit
import logging
import threading
import time

import redis

from core import process
from core.redis import get_redis
from metering import redis_keys
from metering.analytics import histogram

logger = logging.getLogger(__name__)
FLUSH_SECONDS = 5.0
# A process that can't flush (Redis down) keeps at most this many groups, then drops the oldest
# hours first: memory stays bounded.
MAX_GROUPS = 50_000
REFUSED = "refused"
# A workspace's hash lives until the drain folds it; this only bounds an unfolded one (a drain
# stopped for a week, a workspace deleted).
HASH_TTL_SECONDS = 7 * 86400

Group = tuple[int, str, str, str, int]  # workspace id, key id, endpoint, status class, hour (epoch s)


class Stats:
    """One group's counts: requests, latency sum (us), histogram."""

    __slots__ = ("buckets", "latency_us", "requests")

    def __init__(self) -> None:
        self.requests = 0
        self.latency_us = 0
        self.buckets = histogram.empty()


_groups: dict[Group, Stats] = {}
_lock = threading.Lock()
_state: dict[str, int | None] = {"pid": None}


def status_class(status: int, *, refused: bool = False) -> str:
    """"2xx" ... "5xx", or "refused" for a request the metering check refused (its 429)."""
    return REFUSED if refused else f"{status // 100}xx"


def record(*, workspace_id: int, key_id: str, endpoint: str, status_class: str, at: float, latency_us: int) -> None:
    """Count one finished request (`at`: epoch seconds, the metering check's clock)."""
    group = (workspace_id, key_id, endpoint, status_class, int(at // 3600) * 3600)
    bucket = histogram.bucket_of(latency_us)
    with _lock:
        stats = _groups.get(group)
        if stats is None:
            stats = _groups[group] = Stats()
        stats.requests += 1
        stats.latency_us += latency_us
        stats.buckets[bucket] += 1
    if _state["pid"] != process.pid():
        _start()


def _start() -> None:
    with _lock:
        if _state["pid"] == process.pid():
            return
        _state["pid"] = process.pid()
        if _state.get("atexit") is None:
            atexit.register(flush)
            _state["atexit"] = 1
    threading.Thread(target=_loop, name="tollgate-request-stats", daemon=True).start()


def _loop() -> None:
    while True:
        time.sleep(FLUSH_SECONDS)
        try:
            flush()
        except Exception:
            logger.exception("could not flush request analytics")


def field(metric: str, hour: int, key_id: str, status: str, endpoint: str) -> str:
    """The hash field of one group's metric ("n", "us" or "b<bucket>"); the endpoint last (a
    path may hold a tab, the others never do). request_stats.parse_field reads it."""
    return f"{metric}\t{hour}\t{key_id or '-'}\t{status}\t{endpoint}"


def take() -> dict[Group, Stats]:
    """What was recorded since the last take, and start afresh."""
    global _groups
    with _lock:
        taken, _groups = _groups, {}
    return taken


def _give_back(taken: dict[Group, Stats]) -> None:
    """Put back what a failed flush took, added to what was recorded meanwhile."""
    with _lock:
        for group, stats in taken.items():
            mine = _groups.get(group)
            if mine is None:
                _groups[group] = stats
            else:
                mine.requests += stats.requests
                mine.latency_us += stats.latency_us
                histogram.merge(mine.buckets, stats.buckets)
        if len(_groups) > MAX_GROUPS:
            for group in sorted(_groups, key=lambda g: g[4])[: len(_groups) - MAX_GROUPS]:
                del _groups[group]
            logger.warning("request analytics: Redis unreachable, oldest groups dropped")


def flush() -> int:
    """Add what this process recorded into each workspace's Redis hash, one pipeline; returns
    how many groups were written. A failure keeps them for the next flush."""
    taken = take()
    if not taken:
        return 0
    pipe = get_redis().pipeline(transaction=False)
    workspaces = set()
    for (workspace_id, key_id, endpoint, status, hour), stats in taken.items():
        name = redis_keys.request_stats(workspace_id)
        pipe.hincrby(name, field("n", hour, key_id, status, endpoint), stats.requests)
        pipe.hincrby(name, field("us", hour, key_id, status, endpoint), stats.latency_us)
        for i, n in enumerate(stats.buckets):
            if n:
                pipe.hincrby(name, field(f"b{i}", hour, key_id, status, endpoint), n)
        workspaces.add(workspace_id)
    for workspace_id in workspaces:
        pipe.expire(redis_keys.request_stats(workspace_id), HASH_TTL_SECONDS)
    # After the counts (same connection, in order): a fold that finds the workspace marked
    # finds its counts too, or marks it again for the next fold.
    pipe.sadd(redis_keys.request_stats_pending(), *workspaces)
    try:
        pipe.execute()
    except redis.RedisError as exc:
        logger.warning("request analytics flush failed (%s), kept for the next one", type(exc).__name__)
        _give_back(taken)
        return 0
    return len(taken)
