"""Usage and request analytics over the API: GET /api/v1/usage, /usage/summary, /usage/top,
/metrics. A key with the `read` scope, or a dashboard session (any member: usage.view).
Thin: parse the query (metering/analytics/ranges.py: a bad one is a 400 problem naming the
parameter), call one selector, answer."""

from datetime import UTC, datetime

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from apikeys.permissions import ScopePermission
from core.errors import InvalidInput
from metering import windows
from metering.analytics import ranges, selectors

RANGE_PARAMETERS = [
    OpenApiParameter("from", str, description="Start, ISO 8601 time or date (UTC when no zone). With `to`, "
                     "instead of `hours`. Ranges are whole UTC hours, at most 366 days."),
    OpenApiParameter("to", str, description="End (exclusive), ISO 8601 time or date; default now."),
    OpenApiParameter("hours", int, description="The last N hours (1-8784), instead of from/to. Default 24."),
]


def _now() -> datetime:
    return datetime.fromtimestamp(windows.now(), tz=UTC)


def _ranged(name: str, fields: dict) -> type[serializers.Serializer]:
    """An output serializer whose first fields are `from` and `to` (Python keywords, so not
    declarable in a class body): the range answered, in whole UTC hours."""
    return type(name, (serializers.Serializer,), {
        "from": serializers.DateTimeField(help_text="start of the range answered (a UTC hour)"),
        "to": serializers.DateTimeField(help_text="end of the range answered, exclusive"), **fields})


class _Permission(APIView):
    permission_classes = [ScopePermission]
    required_scope = "read"
    session_action = "usage.view"


class UsagePoint(serializers.Serializer):
    time = serializers.DateTimeField(help_text="start of the hour or UTC day")
    group = serializers.CharField(help_text="the key id, endpoint, meter or status class; \"\" when not grouped")
    requests = serializers.IntegerField(help_text="finished metered requests (group_by=meter: admitted "
                                        "requests that consumed the meter)")
    refused = serializers.IntegerField(help_text="of which refused by a rate limit or quota (429)")
    # a declared field, popped from the class by DRF's metaclass: Serializer.errors stays as it is
    errors = serializers.IntegerField(help_text="of which answered 4xx or 5xx (refusals not included)")  # type: ignore[assignment]
    units = serializers.DictField(child=serializers.IntegerField(), help_text="units used per meter")


UsageOutput = _ranged("UsageOutput", {
    "granularity": serializers.ChoiceField(choices=ranges.GRANULARITIES),
    "group_by": serializers.CharField(allow_null=True),
    "points": UsagePoint(many=True),
})


class UsageApi(_Permission):
    """Usage over time: finished requests (refused and errors among them) and units per meter,
    per hour or day, optionally grouped by key, endpoint, meter or status class. Read from
    hourly rollups; points with nothing in them are left out."""

    @extend_schema(parameters=[*RANGE_PARAMETERS,
                               OpenApiParameter("granularity", str, enum=list(ranges.GRANULARITIES)),
                               OpenApiParameter("group_by", str, enum=list(ranges.GROUPINGS))],
                   responses=UsageOutput)
    def get(self, request):
        params = request.query_params
        span = ranges.parse_range(params, now=_now())
        granularity = ranges.choice(params, "granularity", ranges.GRANULARITIES, "hour")
        group_by = ranges.choice(params, "group_by", ranges.GROUPINGS, None)
        points = selectors.usage_series(workspace=request.workspace, start=span.start, end=span.end,
                                        granularity=granularity or "hour", group_by=group_by)
        return Response({"from": selectors.iso(span.start), "to": selectors.iso(span.end),
                         "granularity": granularity, "group_by": group_by, "points": points})


class MeterSummaryOut(serializers.Serializer):
    meter = serializers.CharField()
    used = serializers.IntegerField()
    included = serializers.IntegerField(allow_null=True, help_text="the plan's monthly quantity; null: none")
    remaining = serializers.IntegerField(allow_null=True)
    overage = serializers.IntegerField(help_text="units past `included`")


class ProjectedCostOut(serializers.Serializer):
    amount = serializers.IntegerField(help_text="minor units (cents)")
    currency = serializers.CharField()


class SummaryOutput(serializers.Serializer):
    class Period(serializers.Serializer):
        start = serializers.DateTimeField()
        end = serializers.DateTimeField()

    period = Period()
    meters = MeterSummaryOut(many=True)
    projected_cost = ProjectedCostOut(allow_null=True, help_text="null until billing provides it")


class UsageSummaryApi(_Permission):
    """The current period (calendar month, UTC) per meter: used, included, remaining, overage."""

    @extend_schema(responses=SummaryOutput)
    def get(self, request):
        return Response(selectors.usage_summary(workspace=request.workspace, now=_now()))


class TopItem(serializers.Serializer):
    key_id = serializers.CharField(required=False)
    name = serializers.CharField(required=False, allow_null=True, help_text="the key's name (by=key)")
    endpoint = serializers.CharField(required=False)
    requests = serializers.IntegerField()
    refused = serializers.IntegerField()
    errors = serializers.IntegerField()  # type: ignore[assignment]  # see UsagePoint
    units = serializers.DictField(child=serializers.IntegerField())


TopOutput = _ranged("TopOutput", {"by": serializers.CharField(), "items": TopItem(many=True)})


def _limit(params) -> int:
    value = params.get("limit", "10")
    if not value.isdigit() or not 1 <= int(value) <= 100:
        raise InvalidInput("`limit` is a whole number from 1 to 100.", field="limit")
    return int(value)


class UsageTopApi(_Permission):
    """The keys or endpoints with the most requests in the range, most first."""

    @extend_schema(parameters=[*RANGE_PARAMETERS, OpenApiParameter("by", str, enum=["key", "endpoint"]),
                               OpenApiParameter("limit", int, description="1-100, default 10")],
                   responses=TopOutput)
    def get(self, request):
        params = request.query_params
        span = ranges.parse_range(params, now=_now())
        by = ranges.choice(params, "by", ("key", "endpoint"), "key") or "key"
        items = selectors.usage_top(workspace=request.workspace, start=span.start, end=span.end, by=by,
                                    limit=_limit(params))
        return Response({"from": selectors.iso(span.start), "to": selectors.iso(span.end), "by": by, "items": items})


class LatencyOut(serializers.Serializer):
    avg = serializers.FloatField(allow_null=True)
    p50 = serializers.FloatField(allow_null=True)
    p95 = serializers.FloatField(allow_null=True)
    p99 = serializers.FloatField(allow_null=True)


class LatencyPoint(LatencyOut):
    time = serializers.DateTimeField()
    requests = serializers.IntegerField()


MetricsOutput = _ranged("MetricsOutput", {
    "total_requests": serializers.IntegerField(),
    "success_rate": serializers.FloatField(allow_null=True, help_text="2xx and 3xx of all (refusals included)"),
    "requests_per_second": serializers.FloatField(),
    "latency_ms": LatencyOut(help_text="from log-scale histograms: within one bucket (~19 %) of exact"),
    "by_status": serializers.DictField(child=serializers.IntegerField(), help_text='{"2xx": n, "refused": n, ...}'),
    "errors": serializers.IntegerField(),
    "refused": serializers.IntegerField(),
    "latency_series": LatencyPoint(many=True, help_text="per hour (granularity=day: per UTC day), refusals left out"),
})


class MetricsApi(_Permission):
    """Request metrics of the range: total, success rate, average/p50/p95/p99 latency, requests
    per second, counts by status class, and latency over time."""

    @extend_schema(parameters=[*RANGE_PARAMETERS,
                               OpenApiParameter("granularity", str, enum=list(ranges.GRANULARITIES),
                                                description="of latency_series; default hour")],
                   responses=MetricsOutput)
    def get(self, request):
        params = request.query_params
        span = ranges.parse_range(params, now=_now())
        granularity = ranges.choice(params, "granularity", ranges.GRANULARITIES, "hour") or "hour"
        body = selectors.request_metrics(workspace=request.workspace, start=span.start, end=span.end)
        body["latency_series"] = selectors.latency_series(workspace=request.workspace, start=span.start,
                                                          end=span.end, granularity=granularity)
        return Response(body)
