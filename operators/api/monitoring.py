"""The platform overview and per-workspace monitoring (metering/analytics: request analytics
folded by the drain; nothing here queries every workspace's schema)."""

from datetime import UTC, datetime, timedelta

from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.response import Response

from billing.selectors import operator_overview
from metering import windows
from metering.analytics import ranges
from metering.analytics.api import RANGE_PARAMETERS, MetricsOutput
from metering.analytics.platform import platform_usage
from metering.analytics.selectors import latency_series, request_metrics
from operators.api.base import TAG, PlatformApi
from operators.selectors import platform_counts


class PlatformOverviewOutput(serializers.Serializer):
    class Counts(serializers.Serializer):
        total = serializers.IntegerField()
        active = serializers.IntegerField()
        suspended = serializers.IntegerField()

    class Top(serializers.Serializer):
        workspace_id = serializers.IntegerField()
        slug = serializers.CharField()
        requests = serializers.IntegerField()
        errors = serializers.IntegerField()  # type: ignore[assignment]  # the API's field name; Serializer.errors
        refused = serializers.IntegerField()

    workspaces = Counts()
    active_subscriptions = serializers.IntegerField()
    mrr_cents = serializers.IntegerField(help_text="Monthly recurring revenue, cents (annual prices / 12)")
    since = serializers.DateTimeField(help_text="The hour the 24 h figures start at")
    requests_24h = serializers.IntegerField(help_text="Finished metered requests, refusals included")
    errors_24h = serializers.IntegerField(help_text="4xx and 5xx answers")
    refused_24h = serializers.IntegerField(help_text="Refused by a limit (429)")
    error_rate_24h = serializers.FloatField(allow_null=True, help_text="errors / requests; null: no requests")
    latency_avg_ms_24h = serializers.FloatField(allow_null=True)
    top_workspaces = Top(many=True)
    drain_lag_seconds = serializers.FloatField(help_text="Age of the oldest usage event not stored yet")


def _now() -> datetime:
    return datetime.fromtimestamp(windows.now(), tz=UTC)


class OverviewApi(PlatformApi):
    """The platform at a glance: workspaces, active subscriptions, the last 24 hours' requests and
    error rate, the busiest workspaces, the usage drain's lag, and MRR (billing's, as admin shows it)."""

    required_scopes = {"GET": "monitoring:read"}

    @extend_schema(tags=[TAG], responses=PlatformOverviewOutput)
    def get(self, request):
        counts = platform_counts()
        usage = platform_usage(since=_now() - timedelta(hours=24))
        return Response(PlatformOverviewOutput({
            "workspaces": counts["workspaces"], "active_subscriptions": counts["active_subscriptions"],
            "mrr_cents": operator_overview()["mrr_cents"],
            "since": usage["since"], "requests_24h": usage["requests"], "errors_24h": usage["errors"],
            "refused_24h": usage["refused"], "error_rate_24h": usage["error_rate"],
            "latency_avg_ms_24h": usage["latency_avg_ms"], "top_workspaces": usage["top_workspaces"],
            "drain_lag_seconds": usage["drain"]["lag_seconds"]}).data)


class WorkspaceMonitoringApi(PlatformApi):
    """A workspace's requests over a range (default the last 24 hours): total, success rate,
    latency average and percentiles, errors and refusals by status class, latency over time."""

    required_scopes = {"GET": "monitoring:read"}

    @extend_schema(tags=[TAG], parameters=[
        *RANGE_PARAMETERS,
        OpenApiParameter("granularity", str, enum=list(ranges.GRANULARITIES), description="of latency_series")],
        responses=MetricsOutput)
    def get(self, request, slug):
        workspace = self.workspace(slug)
        span = ranges.parse_range(request.query_params, now=_now())
        granularity = ranges.choice(request.query_params, "granularity", ranges.GRANULARITIES, "hour") or "hour"
        body = request_metrics(workspace=workspace, start=span.start, end=span.end)
        body["latency_series"] = latency_series(workspace=workspace, start=span.start, end=span.end,
                                                granularity=granularity)
        return Response(body)
