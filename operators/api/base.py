"""What every platform API view shares: operator-token authentication, scopes per method, one
audit event per call (a platform event: who, what, the answer), and keyset pages shaped as the
audit log's (`data`, `next_cursor`, `next` and a Link header)."""

from drf_spectacular.utils import OpenApiParameter
from rest_framework.response import Response
from rest_framework.views import APIView

from auditing.filters import parse_limit
from auditing.services import record
from core.errors import InvalidInput, NotFound
from operators.authentication import OperatorPrincipal, OperatorTokenAuthentication, actor_of
from operators.permissions import OperatorScopePermission
from operators.selectors import Page
from tenants.models import Workspace
from tenants.selectors import workspace_get

TAG = "platform"
PAGE_PARAMS = [
    OpenApiParameter("limit", int, description="Items per page, 1-200 (default 50)"),
    OpenApiParameter("cursor", str, description="next_cursor of the previous page"),
]


class PlatformApi(APIView):
    authentication_classes = [OperatorTokenAuthentication]
    permission_classes = [OperatorScopePermission]
    required_scopes: dict[str, str] = {}

    def initial(self, request, *args, **kwargs):
        # The platform's API is the platform's host's: on a workspace's host it does not exist.
        tenant = getattr(request._request, "tenant", None)
        if tenant is not None and not tenant.is_public:
            raise NotFound("No such resource.")
        super().initial(request, *args, **kwargs)

    def finalize_response(self, request, response, *args, **kwargs):
        """Audit the call once it is answered, when a token was proved (refused attempts without
        one are counted by the authentication's throttle, not written to the audit chain)."""
        user = getattr(request, "_user", None)
        if isinstance(user, OperatorPrincipal):
            status = getattr(response, "status_code", 500)
            record(action="operator_api_call", actor=actor_of(user.token), resource=("operator_token", user.token.pk),
                   outcome="success" if status < 400 else "failure", severity="info" if status < 400 else "warning",
                   details={"method": request.method, "path": request.path, "status": status,
                            "query": request.query_params.dict()})
        return super().finalize_response(request, response, *args, **kwargs)

    @staticmethod
    def actor(request):
        return actor_of(request.user.token)

    @staticmethod
    def workspace(slug: str) -> Workspace:
        """Raises NotFound."""
        workspace = workspace_get(slug=(slug or "").lower())
        if workspace is None:
            raise NotFound(f"No workspace {slug!r}.")
        return workspace

    @staticmethod
    def page_args(request) -> tuple[int, str | None]:
        try:
            limit = parse_limit(request.query_params.get("limit"))
        except ValueError as exc:
            raise InvalidInput(str(exc), field="limit")
        return limit, request.query_params.get("cursor") or None

    @staticmethod
    def page_response(request, data, page: Page) -> Response:
        body: dict = {"data": data, "next_cursor": page.next_cursor}
        headers = {}
        if page.next_cursor:
            params = request.query_params.copy()
            params["cursor"] = page.next_cursor
            body["next"] = request.build_absolute_uri(f"{request.path}?{params.urlencode()}")
            headers["Link"] = f'<{body["next"]}>; rel="next"'
        return Response(body, headers=headers)


def paged(selector, request, **kwargs) -> Page:
    """`selector(limit=, cursor=, **kwargs)` for the request's page. Raises InvalidInput for a bad cursor."""
    limit, cursor = PlatformApi.page_args(request)
    try:
        return selector(limit=limit, cursor=cursor, **kwargs)
    except ValueError as exc:
        raise InvalidInput(str(exc), field="cursor")
