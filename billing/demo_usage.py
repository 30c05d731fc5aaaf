"""30 days of sample usage for the demo workspace, written through the usage pipeline itself.

Nothing is inserted behind the pipeline's back: admitted requests are appended to the
workspace's usage stream (metering/pipeline/events.py) and drained into the raw table and
the rollups (drain.drain_workspace); every request's status and latency go into the
in-process histogram (metering.analytics.recorder), flushed into Redis and folded into
RequestHourly by the drain's fold (metering/pipeline/request_stats.py). Refused requests,
as in production, are in the histogram only (a refusal is never a usage event).

Idempotent: an hour is generated from a seed of its own (the same requests whatever day the
demo runs), each event carries a made-up identity ("demo-<hour>-<n>", the spool's way of
carrying one, events.replayed), so the raw table stores it once; and an hour whose
histograms are in already (the sample keys have rows in it) is skipped, because histogram
folds add up. The newest hour written is two hours back: the last finished hour is the
one reconciliation compares with Redis's live counter (metering/pipeline/reconcile.py), and
the sample events are not in that counter.
"""

import math
import random
from datetime import UTC, datetime, timedelta

from apikeys import last_used
from apikeys.models import ApiKey
from apikeys.selectors import apikey_list
from apikeys.services import apikey_create
from core.redis import get_redis
from metering import redis_keys
from metering.analytics import recorder
from metering.analytics.selectors import usage_series
from metering.pipeline import drain, events, request_stats
from tenants.models import Workspace

DAYS = 30
# (name, share of the traffic, scopes); their secrets are never shown: only the demo writes as them.
KEYS = [("Production server", 0.58, ["read", "write"]), ("Mobile app", 0.22, ["read", "write"]),
        ("Partner: Acme analytics", 0.15, ["read"]), ("Staging", 0.05, ["read", "write"])]
# (path, share, median latency ms, tokens per request (low, high) or None)
ENDPOINTS = [("/api/v1/analyze", 0.5, 45, (20, 400)), ("/api/v1/chat/completions", 0.2, 320, (200, 1500)),
             ("/api/v1/embeddings", 0.18, 90, (50, 800)), ("/api/v1/moderate", 0.12, 25, None)]
PEAK_PER_HOUR = 30


def _keys(workspace: Workspace, owner) -> list[ApiKey]:
    existing = {k.name: k for k in apikey_list(workspace=workspace) if k.status == "active"}
    out = []
    for name, _share, scopes in KEYS:
        key = existing.get(name)
        if key is None:
            key, _secret = apikey_create(workspace=workspace, name=name, scopes=scopes, actor=owner)
        out.append(key)
    return out


def _volume(hour: datetime, rng: random.Random) -> int:
    """Requests in an hour: a working-day curve peaking mid-afternoon UTC, weekends at a third,
    and a slow growth over the month."""
    daily = 0.15 + 0.85 * max(0.0, math.sin(math.pi * (hour.hour - 6) / 16)) if 6 <= hour.hour <= 22 else 0.15
    weekly = 0.35 if hour.weekday() >= 5 else 1.0
    growth = 0.8 + 0.2 * (hour.timetuple().tm_yday % 31) / 30
    return max(0, round(PEAK_PER_HOUR * daily * weekly * growth * rng.uniform(0.8, 1.2)))


def _done_hours(workspace: Workspace, key_ids: set[str], start: datetime, end: datetime) -> set[datetime]:
    points = usage_series(workspace=workspace, start=start, end=end, granularity="hour", group_by="key")
    return {datetime.fromisoformat(p["time"].replace("Z", "+00:00")) for p in points if p["group"] in key_ids}


def sample_usage_load(*, workspace: Workspace, owner, now: datetime | None = None, days: int = DAYS) -> int:
    """Generate the hours of the last `days` not loaded yet and run them through the pipeline;
    returns the number of requests generated (0 on a second run within the hour)."""
    now = now or datetime.now(tz=UTC)
    keys = _keys(workspace, owner)
    partner = next(k for k in keys if k.name.startswith("Partner"))
    newest = now.astimezone(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=2)
    hours = [newest - timedelta(hours=i) for i in range(days * 24)]
    done = _done_hours(workspace, {k.key_id for k in keys}, hours[-1], newest + timedelta(hours=1))
    stream = redis_keys.usage_stream(workspace.pk)
    pipe = get_redis().pipeline(transaction=False)
    generated = 0
    last_call: dict[int, float] = {}
    for hour in hours:
        if hour in done:
            continue
        start = int(hour.timestamp())
        rng = random.Random(f"tollgate-demo-{start}")  # noqa: S311 - sample data, not security
        volume = _volume(hour, rng)
        # On working days at 15:00 the partner's sync sends a burst of its own, half of it refused.
        burst = rng.randint(20, 45) if hour.weekday() < 5 and hour.hour == 15 else 0
        for n in range(volume + burst):
            in_burst = n >= volume
            key = partner if in_burst else rng.choices(keys, weights=[share for _, share, _ in KEYS])[0]
            path, _, median_ms, tokens = rng.choices(ENDPOINTS, weights=[e[1] for e in ENDPOINTS])[0]
            at = start + rng.uniform(0, 3599)
            roll = rng.random()
            refused = roll < (0.5 if in_burst else 0.004)
            if refused:
                status, latency_ms = "refused", rng.uniform(0.4, 2.5)
            else:
                status = "5xx" if roll > 0.996 else ("4xx" if roll > 0.975 else "2xx")
                latency_ms = median_ms * math.exp(rng.gauss(0, 0.45)) * (3 if status == "5xx" else 1)
                costs = {"requests": 1, **({"tokens": rng.randint(*tokens)} if tokens else {})}
                pipe.xadd(stream, events.replayed(f"demo-{start}-{n}", key.key_id, costs, int(at * 1000), path,
                                                  event_id=f"demo-{start}-{n}"))
            recorder.record(workspace_id=workspace.pk, key_id=key.key_id, endpoint=path, status_class=status,
                            at=at, latency_us=int(latency_ms * 1000))
            last_call[key.pk] = max(last_call.get(key.pk, 0.0), at)
            generated += 1
        if len(pipe) >= 2000:
            pipe.execute()
    pipe.execute()
    recorder.flush()
    # Bigger batches than the beat's: a month of history, in a few transactions.
    drain.drain_workspace(workspace_id=workspace.pk, schema_name=workspace.schema_name, batch=10_000)
    request_stats.fold_workspace(workspace_id=workspace.pk, schema_name=workspace.schema_name)
    for pk, at in last_call.items():
        last_used.touch(pk, at=at)
    last_used.flush()
    return generated
