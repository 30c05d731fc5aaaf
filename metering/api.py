"""The limits endpoint, and /info (the calling key and its plan). The metered demo endpoint,
/analyze, is metering/demo_product/."""

from typing import Any

from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from apikeys.authentication import ApiKeyPrincipal
from apikeys.permissions import ScopePermission
from core.openapi import problems
from metering import selectors
from metering.errors import MeteringUnavailable
from metering.policy import policy_for


class LimitItem(serializers.Serializer):
    meter = serializers.CharField()
    window = serializers.CharField(help_text="burst, hour, day, month or credits")
    name = serializers.CharField(help_text="the name used in the RateLimit headers")
    limit = serializers.IntegerField()
    hard = serializers.BooleanField(help_text="false: over the limit is admitted and billed as overage")
    used = serializers.IntegerField()
    remaining = serializers.IntegerField()
    reset = serializers.IntegerField(help_text="epoch seconds")
    window_seconds = serializers.IntegerField(required=False)
    top_up_balance = serializers.IntegerField(required=False)


class LimitsOutput(serializers.Serializer):
    plan = serializers.CharField()
    limits = LimitItem(many=True)


class LimitsApi(APIView):
    """For each meter and window: limit, used, remaining and reset (epoch seconds). Not metered."""

    permission_classes = [ScopePermission]
    required_scope = "read"
    session_action = "usage.view"

    @extend_schema(summary="Limits and usage of every window", tags=["usage"], responses=LimitsOutput,
                   examples=[OpenApiExample("pro plan", response_only=True, value={
        "plan": "pro", "limits": [
            {"meter": "requests", "window": "burst", "name": "burst", "limit": 100, "hard": True, "used": 1,
             "remaining": 99, "reset": 1796394564, "window_seconds": 1},
            {"meter": "requests", "window": "hour", "name": "hour", "limit": 10000, "hard": True, "used": 588,
             "remaining": 9412, "reset": 1796396400, "window_seconds": 3600},
            {"meter": "analysis_runs", "window": "credits", "name": "analysis_runs-credits", "limit": 3000,
             "hard": True, "used": 0, "remaining": 3000, "reset": 1798761600, "top_up_balance": 0}]})])
    @problems(MeteringUnavailable)
    def get(self, request):
        key = getattr(request._request, "api_key", None)
        user_id = request.user.pk if key is None else None  # a dashboard session: the member's burst window
        return Response(selectors.limits_for(workspace=request.workspace, key=key, user_id=user_id))


class InfoOutput(serializers.Serializer):
    class WorkspaceOut(serializers.Serializer):
        id = serializers.IntegerField()
        slug = serializers.CharField()
        name = serializers.CharField()
        status = serializers.CharField()

    class KeyOut(serializers.Serializer):
        id = serializers.CharField()
        prefix = serializers.CharField()
        name = serializers.CharField()
        environment = serializers.CharField()
        scopes = serializers.ListField(child=serializers.CharField())
        expires_at = serializers.DateTimeField(allow_null=True)

    workspace = WorkspaceOut()
    key = KeyOut(required=False, help_text="Absent for a dashboard session.")
    plan = serializers.CharField()


class InfoApi(APIView):
    """The calling key: its workspace, name, scopes, plan and expiry. Here, not in apikeys: the plan
    is metering's policy, a layer above keys."""

    permission_classes = [ScopePermission]
    required_scope = "read"

    @extend_schema(summary="The calling key and its plan", tags=["usage"], responses=InfoOutput,
                   examples=[OpenApiExample("a key", response_only=True, value={
        "workspace": {"id": 7, "slug": "demo", "name": "Demo Inc", "status": "active"},
        "key": {"id": "k7qx2m9ab3cd", "prefix": "tg_live_k7qx2m9ab3cd", "name": "Demo key", "environment": "live",
                "scopes": ["admin", "read", "write"], "expires_at": None},
        "plan": "pro"})])
    def get(self, request):
        workspace = request.workspace
        body: dict[str, Any] = {"workspace": {"id": workspace.pk, "slug": workspace.slug, "name": workspace.name,
                              "status": workspace.status}}
        if isinstance(request.user, ApiKeyPrincipal):
            key = request.user.key
            body["key"] = {"id": key.key_id, "prefix": key.prefix, "name": key.name, "environment": key.environment,
                           "scopes": sorted(key.scopes),
                           "expires_at": key.expires_at.isoformat() if key.expires_at else None}
        body["plan"] = policy_for(workspace).get("plan")
        return Response(body)
