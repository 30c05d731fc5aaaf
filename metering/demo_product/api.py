"""POST /api/v1/analyze: the demo product, metered with one line (@metered)."""

from drf_spectacular.utils import OpenApiExample, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from apikeys.permissions import ScopePermission
from core.openapi import problems
from metering.decorators import metered
from metering.demo_product import analysis


def _tokens(request) -> int:
    return analysis.token_count(analysis.validated_text(request.data))


class AnalysisOutput(serializers.Serializer):
    class Sentiment(serializers.Serializer):
        # "label" is the API's field name; DRF Fields also have a .label attribute, which the stubs type
        label = serializers.ChoiceField(choices=["positive", "negative", "neutral"])  # type: ignore[assignment]
        score = serializers.FloatField(help_text="-1 (negative) to 1 (positive)")

    words = serializers.IntegerField()
    characters = serializers.IntegerField()
    sentences = serializers.IntegerField()
    sentiment = Sentiment()
    emotions = serializers.DictField(child=serializers.FloatField(), help_text="share of each emotion's words")
    dominant_emotion = serializers.CharField()


class AnalyzeApi(APIView):
    """Analyze a text: word count, sentiment and emotions. Meters `requests` +1 and `tokens` = words.

    Without a key it answers in demo mode (`X-Demo-Mode: true`), on a small hourly quota per
    address of its own (metering/demo.py)."""

    permission_classes = [ScopePermission]

    class InputSerializer(serializers.Serializer):
        class Meta:
            ref_name = "AnalyzeInput"

        text = serializers.CharField(max_length=analysis.MAX_CHARS)

    @extend_schema(summary="Analyze a text (metered)", tags=["metered"], request=InputSerializer,
                   responses=AnalysisOutput, examples=[
        OpenApiExample("hello", value={"text": "I love this API"}, request_only=True),
        OpenApiExample("analysis", response_only=True, value={
            "words": 4, "characters": 15, "sentences": 1, "sentiment": {"label": "positive", "score": 1.0},
            "emotions": {"joy": 1.0, "sadness": 0.0, "anger": 0.0, "fear": 0.0, "surprise": 0.0, "trust": 0.0},
            "dominant_emotion": "joy"}),
    ])
    @problems(analysis.EmptyText, analysis.TextTooLong)
    @metered(requests=1, tokens=_tokens, demo=True)
    def post(self, request):
        return Response(analysis.analyze(request.data["text"]))
