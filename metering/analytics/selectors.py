"""Reads of one workspace's usage and request analytics, from rollups only (never raw events).

Sources, all in the workspace's schema except where said:
- UsageHourly: units per meter of admitted requests (what is billed), per key and endpoint;
- RequestHourly: finished requests per key, endpoint and status class ("2xx".."5xx",
  "refused"), with latency sums and histograms (metering/analytics/recorder.py);
- UsageDaily (public): a workspace's daily totals per meter, for the period's summary.

Each selector runs its queries inside the workspace's schema_context and returns plain data
(django-tenants binds a query to the schema current when it runs: auditing/selectors.py).
Ranges are whole UTC hours (metering/analytics/ranges.py); series are sparse: a time with
nothing to show has no point.
"""

from collections.abc import Callable, Iterable
from dataclasses import asdict, dataclass
from datetime import UTC, datetime
from typing import Any

from django.db import connection
from django.db.models import Sum
from django_tenants.utils import schema_context

from apikeys.models import ApiKey
from metering import windows
from metering.analytics import histogram
from metering.analytics.ranges import Range, hour_floor, range_of
from metering.models import RequestHourly, UsageDaily, UsageHourly
from metering.policy import policy_for
from tenants.models import Workspace

UH, RH, UD = UsageHourly._meta.db_table, RequestHourly._meta.db_table, UsageDaily._meta.db_table
_TIME = {"hour": "hour", "day": "date_trunc('day', hour, 'UTC')"}
_USAGE_GROUP = {None: "''", "key": "key_id", "endpoint": "endpoint", "meter": "meter"}
_REQUEST_GROUP = {None: "''", "key": "key_id", "endpoint": "endpoint", "status": "status_class"}
SUCCESS = ("2xx", "3xx")


def _schema(workspace: Workspace) -> str:
    if workspace is None or workspace.is_public:
        raise ValueError("analytics selectors need a workspace")
    return workspace.schema_name


def _rows(schema_name: str, sql: str, params: list | dict) -> list[tuple]:
    with schema_context(schema_name), connection.cursor() as cursor:
        cursor.execute(sql, params)
        return cursor.fetchall()


def iso(at: datetime) -> str:
    return at.astimezone(UTC).isoformat().replace("+00:00", "Z")


def usage_series(*, workspace: Workspace, start: datetime, end: datetime, granularity: str = "hour",
                 group_by: str | None = None) -> list[dict[str, Any]]:
    """Points of [start, end) per `granularity` ("hour" or "day", UTC) and group, oldest first:
    {"time", "group", "requests", "refused", "errors", "units": {meter: units}}.

    group_by None (one series, group ""), "key", "endpoint" (requests from RequestHourly, units
    from UsageHourly), "meter" (requests: admitted requests that consumed the meter; units of
    that meter) or "status" (requests per status class; no units).
    Raises InvalidInput for a bad range; ValueError for an unknown granularity or grouping (the
    API checks them first, naming the parameter).
    """
    if granularity not in _TIME or group_by not in {**_USAGE_GROUP, **_REQUEST_GROUP}:
        raise ValueError(f"granularity {granularity!r} / group_by {group_by!r}")
    span = range_of(start, end)
    schema = _schema(workspace)
    t = _TIME[granularity]
    points: dict[tuple[datetime, str], dict[str, Any]] = {}

    def point(at: datetime, group: str) -> dict[str, Any]:
        return points.setdefault((at, group), {"time": iso(at), "group": group, "requests": 0, "refused": 0,
                                               "errors": 0, "units": {}})

    bounds = {"lo": span.start, "hi": span.end}
    if group_by != "meter":
        g = _REQUEST_GROUP[group_by]
        for at, group, requests, refused, errors in _rows(schema, (  # noqa: S608 - constants
                f"SELECT {t}, {g}, sum(requests), sum(requests) FILTER (WHERE status_class = 'refused'), "
                f"sum(errors) FROM {RH} WHERE hour >= %(lo)s AND hour < %(hi)s GROUP BY 1, 2"), bounds):
            p = point(at, group)
            p["requests"], p["refused"], p["errors"] = int(requests), int(refused or 0), int(errors)
    if group_by != "status":
        g = _USAGE_GROUP[group_by]
        for at, group, meter, events, units in _rows(schema, (  # noqa: S608 - constants
                f"SELECT {t}, {g}, meter, sum(events), sum(units) FROM {UH} "
                "WHERE hour >= %(lo)s AND hour < %(hi)s GROUP BY 1, 2, 3"), bounds):
            p = point(at, group)
            p["units"][meter] = int(units)
            if group_by == "meter":
                p["requests"] = int(events)
    return [points[k] for k in sorted(points)]


def _merged(schema: str, span: Range, where: str = "", params: dict | None = None) -> list[int]:
    buckets = histogram.empty()
    for index, count in _rows(schema, (  # noqa: S608 - constants
            f"SELECT u.i, sum(u.n) FROM {RH}, unnest(buckets) WITH ORDINALITY AS u(n, i) "
            f"WHERE hour >= %(lo)s AND hour < %(hi)s {where} GROUP BY 1"),
            {"lo": span.start, "hi": span.end, **(params or {})}):
        if 1 <= index <= histogram.BUCKETS:
            buckets[index - 1] = int(count)
    return buckets


def _ms(us: int | float | None) -> float | None:
    return None if us is None else round(us / 1000, 3)


def request_metrics(*, workspace: Workspace, start: datetime, end: datetime) -> dict[str, Any]:
    """The range's finished metered requests: total, success rate (2xx and 3xx of all, refusals
    included), latency average and p50/p95/p99 (ms, from the histograms: within one bucket,
    ~19 %, of the exact value), requests per second over the range, and counts by status class
    ({"2xx": n, "4xx": n, "refused": n, ...})."""
    span = range_of(start, end)
    schema = _schema(workspace)
    by_status = {c: int(n) for c, n in _rows(schema, (  # noqa: S608 - constants
        f"SELECT status_class, sum(requests) FROM {RH} WHERE hour >= %(lo)s AND hour < %(hi)s GROUP BY 1"),
        {"lo": span.start, "hi": span.end})}
    total = sum(by_status.values())
    latency_sum = _rows(schema, f"SELECT coalesce(sum(latency_sum_us), 0) FROM {RH} "  # noqa: S608 - constants
                        "WHERE hour >= %(lo)s AND hour < %(hi)s", {"lo": span.start, "hi": span.end})[0][0]
    buckets = _merged(schema, span) if total else histogram.empty()
    success = sum(n for c, n in by_status.items() if c in SUCCESS)
    return {
        "from": iso(span.start), "to": iso(span.end), "total_requests": total,
        "success_rate": round(success / total, 4) if total else None,
        "requests_per_second": round(total / span.seconds, 4),
        "latency_ms": {"avg": _ms(latency_sum / total) if total else None,
                       "p50": _ms(histogram.percentile(buckets, 0.50)),
                       "p95": _ms(histogram.percentile(buckets, 0.95)),
                       "p99": _ms(histogram.percentile(buckets, 0.99))},
        "by_status": dict(sorted(by_status.items())),
        "errors": sum(n for c, n in by_status.items() if c in ("4xx", "5xx")),
        "refused": by_status.get("refused", 0),
    }


def latency_series(*, workspace: Workspace, start: datetime, end: datetime,
                   granularity: str = "hour") -> list[dict[str, Any]]:
    """Latency over time: per hour or UTC day of [start, end), {"time", "requests", "avg",
    "p50", "p95", "p99"} (ms), oldest first; refusals left out (they never reach the view)."""
    if granularity not in _TIME:
        raise ValueError(granularity)
    span = range_of(start, end)
    schema, t = _schema(workspace), _TIME[granularity]
    bounds = {"lo": span.start, "hi": span.end}
    where = "hour >= %(lo)s AND hour < %(hi)s AND status_class <> 'refused'"
    sums = {at: (int(n), int(us)) for at, n, us in _rows(schema, (  # noqa: S608 - constants
        f"SELECT {t}, sum(requests), sum(latency_sum_us) FROM {RH} WHERE {where} GROUP BY 1"), bounds)}
    per: dict[datetime, list[int]] = {}
    for at, index, count in _rows(schema, (  # noqa: S608 - constants
            f"SELECT {t}, u.i, sum(u.n) FROM {RH}, unnest(buckets) WITH ORDINALITY AS u(n, i) "
            f"WHERE {where} GROUP BY 1, 2"), bounds):
        if 1 <= index <= histogram.BUCKETS:
            per.setdefault(at, histogram.empty())[index - 1] = int(count)
    out = []
    for at in sorted(per):
        requests, latency = sums[at]
        b = per[at]
        out.append({"time": iso(at), "requests": requests, "avg": _ms(latency / requests) if requests else None,
                    "p50": _ms(histogram.percentile(b, 0.5)), "p95": _ms(histogram.percentile(b, 0.95)),
                    "p99": _ms(histogram.percentile(b, 0.99))})
    return out


def usage_top(*, workspace: Workspace, start: datetime, end: datetime, by: str, limit: int = 10) -> list[dict[str, Any]]:
    """The `limit` keys or endpoints (`by`) with the most finished requests in [start, end),
    most first: {"key_id" | "endpoint", "requests", "refused", "errors", "units": {meter: units}}.
    A key also has its "name" (None for one deleted since, or a dashboard session's "")."""
    if by not in ("key", "endpoint"):
        raise ValueError(by)
    span = range_of(start, end)
    schema = _schema(workspace)
    column = "key_id" if by == "key" else "endpoint"
    bounds = {"lo": span.start, "hi": span.end, "limit": limit}
    top = _rows(schema, (  # noqa: S608 - constants
        f"SELECT {column}, sum(requests), sum(requests) FILTER (WHERE status_class = 'refused'), sum(errors) "
        f"FROM {RH} WHERE hour >= %(lo)s AND hour < %(hi)s GROUP BY 1 ORDER BY 2 DESC, 1 LIMIT %(limit)s"), bounds)
    names = [row[0] for row in top]
    units: dict[str, dict[str, int]] = {}
    if names:
        for name, meter, total in _rows(schema, (  # noqa: S608 - constants
                f"SELECT {column}, meter, sum(units) FROM {UH} WHERE hour >= %(lo)s AND hour < %(hi)s "
                f"AND {column} = ANY(%(names)s) GROUP BY 1, 2"), {**bounds, "names": names}):
            units.setdefault(name, {})[meter] = int(total)
    out = [{column: name, "requests": int(requests), "refused": int(refused or 0), "errors": int(errors),
            "units": units.get(name, {})} for name, requests, refused, errors in top]
    if by == "key":
        labels = dict(ApiKey.objects.filter(workspace=workspace, key_id__in=names).values_list("key_id", "name"))
        for item in out:
            item["name"] = labels.get(item["key_id"]) if item["key_id"] else ""
    return out


def key_activity(*, workspace: Workspace, key_ids: Iterable[str], since: datetime) -> dict[str, dict[str, Any]]:
    """Per key of the workspace: {"calls": finished requests since the hour of `since` (whole
    hours; refusals included), "last_used": when the key was last used (datetime or None,
    written at most once a minute: apikeys/last_used.py)}. Keys of another workspace are left out."""
    ids = list(key_ids)
    if not ids:
        return {}
    last_used = dict(ApiKey.objects.filter(workspace=workspace, key_id__in=ids).values_list("key_id", "last_used_at"))
    calls = dict(_rows(_schema(workspace), (  # noqa: S608 - constants
        f"SELECT key_id, sum(requests) FROM {RH} WHERE hour >= %s AND key_id = ANY(%s) GROUP BY 1"),
        [hour_floor(since), list(last_used)])) if last_used else {}
    return {key_id: {"calls": int(calls.get(key_id, 0)), "last_used": used} for key_id, used in last_used.items()}


# ---- the period's summary ---------------------------------------------------------------

@dataclass(frozen=True)
class MeterSummary:
    meter: str
    used: int
    included: int | None  # None: the plan sets no monthly quantity for this meter
    remaining: int | None
    overage: int  # units past `included`, billed as overage where the limit is soft


# Billing fills this in (from its AppConfig.ready): metering never imports billing (DESIGN.md,
# layers). Called with the workspace, the period's start and end and the meters' summaries;
# returns {"amount": cents (int), "currency": "usd"} or None.
ProjectedCost = Callable[[Workspace, datetime, datetime, list[MeterSummary]], dict[str, Any] | None]
_projected_cost: list[ProjectedCost] = []


def projected_cost_provider_set(provider: ProjectedCost | None) -> None:
    """Register billing's projected cost for usage_summary (None: remove it)."""
    _projected_cost.clear()
    if provider is not None:
        _projected_cost.append(provider)


def usage_summary(*, workspace: Workspace, now: datetime | None = None) -> dict[str, Any]:
    """The current calendar month (UTC) per meter: used (daily rollups: what the drain has
    stored, a few seconds behind the quota counters of /limits), included (the plan's monthly
    limit or credits), remaining and overage units; and projected_cost from billing's
    provider (None until billing registers one)."""
    at = now or datetime.fromtimestamp(windows.now(), tz=UTC)
    lo, hi = windows.bounds("month", at.timestamp())
    start, end = datetime.fromtimestamp(lo, tz=UTC), datetime.fromtimestamp(hi, tz=UTC)
    with schema_context("public"):
        used = dict(UsageDaily.objects.filter(workspace_id=workspace.pk, day__gte=start.date(), day__lt=end.date())
                    .values("meter").annotate(total=Sum("units")).values_list("meter", "total"))
    meters = policy_for(workspace).get("meters", {})
    out = []
    for meter in sorted(set(meters) | set(used)):
        spec = meters.get(meter, {})
        included = spec["month"]["limit"] if "month" in spec else spec.get("credits")
        units = int(used.get(meter) or 0)
        out.append(MeterSummary(meter, units, included, max(0, included - units) if included is not None else None,
                                max(0, units - included) if included is not None else 0))
    cost = _projected_cost[0](workspace, start, end, out) if _projected_cost else None
    return {"period": {"start": iso(start), "end": iso(end)},
            "meters": [asdict(m) for m in out], "projected_cost": cost}
