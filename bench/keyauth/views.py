"""One trivial DRF view, served twice: with no authentication, and behind API-key authentication.

The two differ only in `authentication_classes`/`permission_classes`, so the ratio of their
requests per second is what key authentication (parse, cached lookup, HMAC compare, scope
check, schema switch, last-used note) costs.
"""

from rest_framework.permissions import AllowAny
from rest_framework.response import Response
from rest_framework.views import APIView

from apikeys.authentication import ApiKeyAuthentication
from apikeys.permissions import ScopePermission


class _Ping(APIView):
    def get(self, request):
        return Response({"ok": True})


class OpenPingApi(_Ping):
    authentication_classes = []
    permission_classes = [AllowAny]


class KeyedPingApi(_Ping):
    authentication_classes = [ApiKeyAuthentication]
    permission_classes = [ScopePermission]
    required_scope = "read"
