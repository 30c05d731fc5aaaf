"""The usage report of one workspace and range: what the usage page draws, its CSV export
holds, and the overview's requests chart shows. Read-only; every number comes from the
analytics selectors (metering/analytics/), which read rollups, never raw events.

Charts are filled to every bucket of the range (a quiet hour is a 0 bar, not a gap that
joins its neighbours), and the series of keys and endpoints are capped to the busiest few
plus "other", so a workspace with 300 keys still draws a readable chart.
"""

import csv
from collections.abc import Iterable, Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from functools import cached_property
from typing import Any

from django.http import StreamingHttpResponse

from apikeys import selectors as key_selectors
from auditing.exports import safe_cell
from metering import selectors as limit_selectors
from metering.analytics import selectors as analytics
from metering.analytics.recorder import REFUSED
from metering.errors import MeteringUnavailable
from metering.reports.ranges import UsageRange, now_utc, preset
from tenants.models import Workspace

TOP_SERIES = 5  # keys or endpoints drawn one by one; the rest are "other"
TOP_KEYS = 10
OTHER = "other"
NO_KEY = "(no key)"  # a keyless demo-mode call (DESIGN.md, "demo mode")


@dataclass
class Chart:
    id: str
    title: str
    kind: str  # "stacked" | "lines"
    unit: str  # "requests" | "ms"
    granularity: str
    x: list[datetime]
    series: list[tuple[str, list[Any]]]

    @property
    def data_id(self) -> str:
        return f"{self.id}-data"

    @property
    def time_format(self) -> str:
        return "Y-m-d" if self.granularity == "day" else "Y-m-d H:i"

    @cached_property
    def spec(self) -> dict:
        """What static/js/usage-charts.js draws (json_script)."""
        return {"kind": self.kind, "unit": self.unit, "granularity": self.granularity,
                "x": [int(t.timestamp()) for t in self.x],
                "series": [{"label": label, "values": values} for label, values in self.series]}

    @cached_property
    def rows(self) -> list[tuple[datetime, list[Any]]]:
        return [(t, [values[i] for _, values in self.series]) for i, t in enumerate(self.x)]


@dataclass
class Gauge:
    title: str
    used: int
    limit: int
    hard: bool
    reset: datetime

    @property
    def percent(self) -> int:
        return min(999, self.used * 100 // self.limit) if self.limit > 0 else 0

    @property
    def shown(self) -> int:
        return min(self.used, self.limit)

    @property
    def high(self) -> int:
        return self.limit * 8 // 10

    @property
    def over(self) -> bool:
        return self.used >= self.limit


@dataclass
class UsageReport:
    range: UsageRange
    now: datetime
    admitted: int
    refused: int
    errors: int
    requests: Chart
    by_key: Chart
    by_endpoint: Chart
    latency: Chart
    top_keys: list[dict] = field(default_factory=list)
    gauges: list[Gauge] | None = None  # None: Redis unavailable

    @property
    def empty(self) -> bool:
        return self.admitted == 0 and self.refused == 0

    @property
    def error_rate(self) -> str | None:
        finished = self.admitted
        return f"{self.errors * 100 / finished:.1f}" if finished else None

    @property
    def query(self) -> str:
        from urllib.parse import urlencode

        return urlencode(self.range.query())

    @property
    def charts(self) -> list[Chart]:
        return [self.requests, self.by_key, self.by_endpoint, self.latency]


def buckets(usage_range: UsageRange) -> list[datetime]:
    step = timedelta(days=1) if usage_range.granularity == "day" else timedelta(hours=1)
    out, at = [], usage_range.start
    while at < usage_range.end:
        out.append(at)
        at += step
    return out


def _filled(x: list[datetime], points: dict[datetime, Any], empty: Any = 0) -> list[Any]:
    return [points.get(t, empty) for t in x]


def _capped(x: list[datetime], groups: dict[str, dict[datetime, int]], limit: int = TOP_SERIES
            ) -> list[tuple[str, list[int]]]:
    """The `limit` busiest groups, each filled to every bucket, then the rest summed as OTHER."""
    ranked = sorted(groups.items(), key=lambda item: (-sum(item[1].values()), item[0]))
    series = [(name, _filled(x, points)) for name, points in ranked[:limit]]
    rest = ranked[limit:]
    if rest:
        other: dict[datetime, int] = {}
        for _, points in rest:
            for t, n in points.items():
                other[t] = other.get(t, 0) + n
        series.append((OTHER, _filled(x, other)))
    return series


def _key_names(workspace: Workspace) -> dict[str, tuple[str, str]]:
    return {k.key_id: (k.name, k.prefix) for k in key_selectors.apikey_list(workspace=workspace)}


def _key_label(names: dict[str, tuple[str, str]], key_id: str) -> str:
    """The key's name, with its prefix only when another key has the same name (a legend
    on a phone has room for a name, hardly for a 20-character prefix)."""
    if not key_id:
        return NO_KEY
    name, prefix = names.get(key_id, ("deleted key", key_id))
    twins = sum(1 for other, _ in names.values() if other == name)
    return f"{name} ({prefix})" if twins > 1 or key_id not in names else name


def _gauges(workspace: Workspace, user_id: int | None) -> list[Gauge] | None:
    """The current calendar windows of every meter (not the burst windows: they last a second
    or a minute and belong to one key)."""
    try:
        limits = limit_selectors.limits_for(workspace=workspace, user_id=user_id)["limits"]
    except MeteringUnavailable:
        return None
    return [Gauge(title=f"{item['meter']} · {'this ' + item['window'] if item['window'] != 'credits' else 'credits this month'}",
                  used=item["used"], limit=item["limit"], hard=item["hard"],
                  reset=datetime.fromtimestamp(item["reset"], tz=UTC))
            # a window with nothing allowed and nothing bought (a plan without credits) says nothing
            for item in limits if item["window"] != "burst" and (item["limit"] > 0 or item.get("top_up_balance"))]


@dataclass
class _Data:
    """The selectors' sparse points, keyed by bucket start."""

    admitted: dict[datetime, int] = field(default_factory=dict)
    refused: dict[datetime, int] = field(default_factory=dict)
    errors: int = 0
    by_key: dict[str, dict[datetime, int]] = field(default_factory=dict)
    by_endpoint: dict[str, dict[datetime, int]] = field(default_factory=dict)
    latency: dict[str, dict[datetime, float | None]] = field(default_factory=dict)
    top_keys: list[dict] = field(default_factory=list)


def _at(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00")).astimezone(UTC)


def _totals(workspace: Workspace, usage_range: UsageRange) -> _Data:
    """Admitted and refused requests per bucket: every finished metered request (RequestHourly),
    the refused ones being those the metering check answered 429."""
    data = _Data()
    # Grouped by status class: the one grouping that reads RequestHourly alone (no units wanted).
    for p in analytics.usage_series(workspace=workspace, start=usage_range.start, end=usage_range.end,
                                    granularity=usage_range.granularity, group_by="status"):
        at = _at(p["time"])
        into = data.refused if p["group"] == REFUSED else data.admitted
        into[at] = into.get(at, 0) + p["requests"]
        data.errors += p["errors"]
    return data


def _fetch(workspace: Workspace, usage_range: UsageRange) -> _Data:
    data = _totals(workspace, usage_range)
    start, end, granularity = usage_range.start, usage_range.end, usage_range.granularity
    for group_by, into in (("key", data.by_key), ("endpoint", data.by_endpoint)):
        for p in analytics.usage_series(workspace=workspace, start=start, end=end, granularity=granularity,
                                        group_by=group_by):
            if p["requests"]:
                into.setdefault(p["group"], {})[_at(p["time"])] = p["requests"]
    for name in ("p50", "p95", "p99"):
        data.latency[name] = {}
    for p in analytics.latency_series(workspace=workspace, start=start, end=end, granularity=granularity):
        for name in ("p50", "p95", "p99"):
            data.latency[name][_at(p["time"])] = p[name]
    data.top_keys = analytics.usage_top(workspace=workspace, start=start, end=end, by="key", limit=TOP_KEYS)
    return data


def usage_report(*, workspace: Workspace, usage_range: UsageRange, user_id: int | None = None,
                 with_gauges: bool = True) -> UsageReport:
    """The report of `workspace` over `usage_range` (gauges: the windows current now)."""
    x = buckets(usage_range)
    data = _fetch(workspace, usage_range)
    names = _key_names(workspace)
    by_key = {_key_label(names, k): points for k, points in data.by_key.items()}
    requests = Chart("requests", "Requests", "stacked", "requests", usage_range.granularity, x,
                     [("admitted", _filled(x, data.admitted)), ("refused", _filled(x, data.refused))])
    latency = Chart("latency", "Latency percentiles (ms)", "lines", "ms", usage_range.granularity, x,
                    [(name, _filled(x, points, None)) for name, points in data.latency.items()])
    top = [{**k, "name": names.get(k["key_id"], ("deleted key", ""))[0] if k["key_id"] else NO_KEY,
            "prefix": names.get(k["key_id"], ("", k["key_id"]))[1]} for k in data.top_keys]
    return UsageReport(
        range=usage_range, now=now_utc(), admitted=sum(data.admitted.values()), refused=sum(data.refused.values()),
        errors=data.errors, requests=requests,
        by_key=Chart("by-key", "Requests by key", "lines", "requests", usage_range.granularity, x, _capped(x, by_key)),
        by_endpoint=Chart("by-endpoint", "Requests by endpoint", "lines", "requests", usage_range.granularity, x,
                          _capped(x, data.by_endpoint)),
        latency=latency, top_keys=top, gauges=_gauges(workspace, user_id) if with_gauges else [],
    )


def requests_chart(*, workspace: Workspace) -> Chart | None:
    """The last 24 hours' requests chart (the overview's), None when there was no call."""
    usage_range = preset("24h")
    x = buckets(usage_range)
    data = _totals(workspace, usage_range)
    if not any(data.admitted.values()) and not any(data.refused.values()):
        return None
    return Chart("requests", "Requests, last 24 hours", "stacked", "requests", "hour", x,
                 [("admitted", _filled(x, data.admitted)), ("refused", _filled(x, data.refused))])


def key_usage(*, workspace: Workspace, key_ids: list[str]) -> dict[str, dict]:
    """{key id: {"calls": finished requests in the last 24 h, "last_used"}} (the API keys page)."""
    return analytics.key_activity(workspace=workspace, key_ids=key_ids, since=now_utc() - timedelta(hours=24))


# CSV ---------------------------------------------------------------------------------------

HEADER = ("chart", "series", "bucket_start_utc", "value", "unit")


def csv_rows(report: UsageReport) -> Iterator[tuple]:
    """Every number the page shows for the range, one per row (long form: pivots in any
    spreadsheet): each chart's series by bucket, then the top keys' totals."""
    for chart in report.charts:
        for label, values in chart.series:
            for t, v in zip(chart.x, values, strict=True):
                yield (chart.id, label, t.strftime("%Y-%m-%dT%H:%M:%SZ"), "" if v is None else v, chart.unit)
    for k in report.top_keys:
        label = f"{k['name']} ({k['prefix']})" if k["prefix"] else k["name"]
        for column in ("requests", "refused", "errors"):
            yield ("top-keys", f"{label} {column}", "", k[column], "requests")


class _Line:
    def write(self, value: str) -> str:
        return value


def _chunks(rows: Iterable[tuple]) -> Iterator[bytes]:
    writer = csv.writer(_Line())
    yield writer.writerow(HEADER).encode()
    # Key names are the workspace's own text: neutralised like the audit export (auditing/exports.py).
    for row in rows:
        yield writer.writerow([safe_cell(v) for v in row]).encode()


def csv_response(report: UsageReport, *, name: str) -> StreamingHttpResponse:
    response = StreamingHttpResponse(_chunks(csv_rows(report)), content_type="text/csv; charset=utf-8")
    stamp = f"{report.range.start:%Y%m%dT%H%MZ}-{report.range.end:%Y%m%dT%H%MZ}"
    response["Content-Disposition"] = f'attachment; filename="{name}-{stamp}.csv"'
    response["Cache-Control"] = "no-store"
    response["X-Content-Type-Options"] = "nosniff"
    return response
