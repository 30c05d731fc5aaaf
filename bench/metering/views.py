"""The trivial view the benchmark compares against, bare (a) and as people assemble it (c).

(b) is the real POST /api/v1/analyze. (a) and (c) parse the same JSON body and answer a
small JSON object, so the difference to (b) is what authentication and limiting cost.
"""

from django.utils.decorators import method_decorator
from django_ratelimit.decorators import ratelimit
from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework_api_key.permissions import HasAPIKey

from core.redis import execute

# High enough never to block during a run, low enough to be a real limit (django-ratelimit syntax).
ASSEMBLED_RATE = "100000000/h"


def _trivial(request) -> Response:
    text = request.data.get("text", "") if isinstance(request.data, dict) else ""
    return Response({"words": len(str(text).split())})


class BareApi(APIView):
    """(a) No authentication, no limiting."""

    authentication_classes = []
    permission_classes = [AllowAny]

    def post(self, request):
        return _trivial(request)


class AssembledApi(APIView):
    """(c) djangorestframework-api-key (`Authorization: Api-Key <key>`, one SQL query) and
    django-ratelimit keyed by that header (the Django cache, which is Redis)."""

    authentication_classes = []
    permission_classes = [HasAPIKey]

    @method_decorator(ratelimit(key="header:authorization", rate=ASSEMBLED_RATE, method="POST", block=True))
    def post(self, request):
        return _trivial(request)


class RedisFloorApi(BareApi):
    """(d), a reference with --floor: (a) plus one Redis PING on the connection the metering uses
    (core.redis.execute, the cheapest we have). The least any design with one Redis round trip
    per request can cost on this machine."""

    def post(self, request):
        execute("PING")
        return _trivial(request)
