"""The operators' view of the whole platform's usage (Django admin; the platform API may call
it too). Reads public tables and Redis only: never a query per workspace schema."""

import time
from datetime import UTC, datetime
from typing import Any

from django.db.models import Sum
from django_tenants.utils import schema_context

from core.redis import get_redis
from metering import redis_keys
from metering.analytics.ranges import hour_floor
from metering.models import RequestTotalsHourly
from tenants.models import Workspace


def drain_lag() -> dict[str, Any]:
    """{"lag_seconds": age of the oldest usage event still in any workspace's stream (0: none;
    what the drain has yet to store, even if it stopped), "streams": streams holding events,
    "last_run": when the drain last finished (datetime or None), "lag_at_last_run"}."""
    client = get_redis()
    streams = [k for k in client.scan_iter(match=redis_keys.usage_stream_pattern(), count=1000, _type="stream")]
    oldest = None
    if streams:
        pipe = client.pipeline(transaction=False)
        for stream in streams:
            pipe.xrange(stream, "-", "+", count=1)
        for first in pipe.execute():
            if first:
                entry_id = first[0][0]
                ms = int((entry_id.decode() if isinstance(entry_id, bytes) else entry_id).split("-")[0])
                oldest = ms if oldest is None else min(oldest, ms)
    raw = client.get(redis_keys.drain_status())
    last_run, lag_then = None, None
    if raw:
        finished, lag = (raw.decode() if isinstance(raw, bytes) else str(raw)).split()
        last_run, lag_then = datetime.fromtimestamp(float(finished), tz=UTC), float(lag)
    return {"lag_seconds": round(max(0.0, time.time() - oldest / 1000), 3) if oldest is not None else 0.0,
            "streams": len(streams), "last_run": last_run, "lag_at_last_run": lag_then}


def platform_usage(*, since: datetime, top: int = 10) -> dict[str, Any]:
    """Every workspace's finished metered requests since the hour of `since`: total, errors
    (4xx and 5xx), refused, error rate, average latency (ms), the `top` workspaces by requests
    (id, slug, requests, errors, refused), and the drain's lag (drain_lag)."""
    start = hour_floor(since)
    with schema_context("public"):
        rows = RequestTotalsHourly.objects.filter(hour__gte=start)
        totals = rows.aggregate(requests=Sum("requests"), errors=Sum("errors"), refused=Sum("refused"),
                                latency=Sum("latency_sum_us"))
        leaders = list(rows.values("workspace_id").annotate(requests=Sum("requests"), errors=Sum("errors"),
                                                            refused=Sum("refused"))
                       .order_by("-requests", "workspace_id")[:top])
        slugs = dict(Workspace.objects.filter(pk__in=[r["workspace_id"] for r in leaders]).values_list("pk", "slug"))
    requests = int(totals["requests"] or 0)
    errors = int(totals["errors"] or 0)
    return {
        "since": start, "requests": requests, "errors": errors, "refused": int(totals["refused"] or 0),
        "error_rate": round(errors / requests, 4) if requests else None,
        "latency_avg_ms": round(int(totals["latency"] or 0) / requests / 1000, 3) if requests else None,
        "top_workspaces": [{**r, "slug": slugs.get(r["workspace_id"], "(deleted)")} for r in leaders],
        "drain": drain_lag(),
    }
