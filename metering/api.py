"""The reference metered endpoint and the limits endpoint."""

from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from apikeys.permissions import ScopePermission
from metering import analysis, selectors
from metering.decorators import metered


def _tokens(request) -> int:
    return analysis.token_count(analysis.validated_text(request.data))


class AnalyzeApi(APIView):
    """Analyze a text: word count, sentiment and emotions. Meters `requests` +1 and `tokens` = words."""

    permission_classes = [ScopePermission]

    class InputSerializer(serializers.Serializer):
        text = serializers.CharField(max_length=analysis.MAX_CHARS)

    @extend_schema(request=InputSerializer, examples=[OpenApiExample("hello", value={"text": "I love this API"})])
    @metered(requests=1, tokens=_tokens)
    def post(self, request):
        return Response(analysis.analyze(request.data["text"]))


class LimitsApi(APIView):
    """For each meter and window: limit, used, remaining and reset (epoch seconds). Not metered."""

    permission_classes = [ScopePermission]
    required_scope = "read"
    session_action = "usage.view"

    def get(self, request):
        key = getattr(request._request, "api_key", None)
        from metering.policy import policy_for

        policy = policy_for(request.workspace)
        return Response({"plan": policy.get("plan"), "limits": selectors.limits_for(workspace=request.workspace, key=key)})
