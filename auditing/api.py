"""GET /api/v1/audit-logs: the workspace's audit events, filtered, paged, or exported.

`?format=csv|jsonl` streams an export. DRF reserves the `format` query parameter for
choosing a renderer (URL_FORMAT_OVERRIDE); here it is that, honestly: the view declares
renderers for the two formats, so DRF's negotiation accepts them (and `Accept: text/csv`
too), and the view streams the body itself. An unknown format is a 400 naming the
parameter, not DRF's bare 404.
"""

from drf_spectacular.types import OpenApiTypes
from drf_spectacular.utils import OpenApiParameter, extend_schema
from rest_framework import serializers
from rest_framework.negotiation import DefaultContentNegotiation
from rest_framework.renderers import BaseRenderer
from rest_framework.response import Response
from rest_framework.views import APIView

from apikeys.permissions import ScopePermission, actor_of, require_session_action
from auditing import exports, selectors, services
from auditing.filters import AuditFilterForm, parse_limit
from core.errors import InvalidInput
from core.openapi import problems
from core.renderers import JSONRenderer

FORMATS = ("json", *exports.FORMATS)


class _ExportRenderer(BaseRenderer):
    """Never renders: the export view answers with its own StreamingHttpResponse."""

    def render(self, data, accepted_media_type=None, renderer_context=None):
        raise NotImplementedError("exports are streamed by the view")


class CsvRenderer(_ExportRenderer):
    media_type = "text/csv"
    format = "csv"


class JsonLinesRenderer(_ExportRenderer):
    media_type = "application/jsonl"
    format = "jsonl"


class FormatParamNegotiation(DefaultContentNegotiation):
    """An unknown ?format= falls back to JSON here; the view then refuses it with a 400.

    Only a GET streams an export: any other method (OPTIONS describing the endpoint, a 405) is
    answered in JSON, whatever ?format= or Accept asks, since the export renderers render nothing.
    """

    def select_renderer(self, request, renderers, format_suffix=None):
        if request.method not in ("GET", "HEAD") or request.query_params.get("format", "json") not in FORMATS:
            return renderers[0], renderers[0].media_type
        return super().select_renderer(request, renderers, format_suffix)


class AuditEventOutput(serializers.Serializer):
    id = serializers.IntegerField()
    occurred_at = serializers.DateTimeField()
    actor_type = serializers.CharField()
    actor_id = serializers.CharField()
    actor = serializers.CharField(source="actor_label")
    action = serializers.CharField()
    severity = serializers.CharField()
    resource_type = serializers.CharField()
    resource_id = serializers.CharField()
    ip = serializers.CharField(allow_null=True)
    user_agent = serializers.CharField()
    request_id = serializers.CharField()
    outcome = serializers.CharField()
    details = serializers.JSONField()
    hash = serializers.CharField()
    prev_hash = serializers.CharField()


class AuditLogPageOutput(serializers.Serializer):
    data = AuditEventOutput(many=True)  # type: ignore[assignment]  # the API's field name; Serializer.data in the stubs
    next_cursor = serializers.CharField(allow_null=True, help_text="Pass as ?cursor= for the next (older) page")
    next = serializers.URLField(required=False, help_text="The next page's URL, also in the Link header")


def parse_filters(params):
    """The shared filter form over query parameters. Raises InvalidInput naming the field."""
    form = AuditFilterForm(params)
    if not form.is_valid():
        errors = {name: [str(m) for m in messages] for name, messages in form.errors.items()}
        name = next(iter(errors))
        raise InvalidInput(errors[name][0], field=name, errors=errors)
    return form.filters()


_PARAMS = [
    OpenApiParameter("actor", str, description="Actor email, key prefix, 'system', or type:id (user:12, api_key:3)"),
    OpenApiParameter("actor_type", str, enum=["user", "api_key", "system", "operator"]),
    OpenApiParameter("action", str, description="One or more actions, comma-separated"),
    OpenApiParameter("severity", str, description="info, warning, error, critical; comma-separated"),
    OpenApiParameter("resource", str, description="type or type:id, e.g. membership:12"),
    OpenApiParameter("since", OpenApiTypes.DATETIME, description="ISO 8601 date or date-time, inclusive"),
    OpenApiParameter("until", OpenApiTypes.DATETIME, description="Date inclusive, date-time exclusive"),
    OpenApiParameter("q", str, description="Text to find in the event details"),
    OpenApiParameter("limit", int, description="Events per page, 1-200 (default 50)"),
    OpenApiParameter("cursor", str, description="next_cursor of the previous page"),
    OpenApiParameter("format", str, enum=list(FORMATS), description="csv or jsonl stream every match"),
]


class AuditLogListApi(APIView):
    """The workspace's audit events, newest first (keyset pages), or all of them as CSV / JSON Lines."""

    permission_classes = [ScopePermission]
    required_scope = "admin"  # an audit trail names people and addresses: admin keys only
    session_action = "audit.view"
    renderer_classes = [JSONRenderer, CsvRenderer, JsonLinesRenderer]
    content_negotiation_class = FormatParamNegotiation

    @extend_schema(summary="Audit events, or an export", tags=["audit"], parameters=_PARAMS, responses={
        (200, "application/json"): AuditLogPageOutput,
        (200, "text/csv"): OpenApiTypes.STR,
        (200, "application/jsonl"): OpenApiTypes.STR,
    })
    @problems(InvalidInput)
    def get(self, request):
        fmt = request.query_params.get("format") or request.accepted_renderer.format
        if fmt not in FORMATS:
            raise InvalidInput(f"Unknown format {fmt!r}. Use json (default), csv or jsonl.", field="format")
        filters = parse_filters(request.query_params)
        workspace = request.workspace
        if fmt != "json":
            return self.export(request, fmt, filters)
        try:
            limit = parse_limit(request.query_params.get("limit"))
        except ValueError as exc:
            raise InvalidInput(str(exc), field="limit")
        try:
            page = selectors.audit_event_page(workspace=workspace, filters=filters, limit=limit,
                                              cursor=request.query_params.get("cursor") or None)
        except ValueError as exc:  # a cursor this API did not hand out
            raise InvalidInput(str(exc), field="cursor")
        body = {"data": AuditEventOutput(page.events, many=True).data, "next_cursor": page.next_cursor}
        headers = {}
        if page.next_cursor:
            params = request.query_params.copy()
            params["cursor"] = page.next_cursor
            body["next"] = request.build_absolute_uri(f"{request.path}?{params.urlencode()}")
            headers["Link"] = f'<{body["next"]}>; rel="next"'
        return Response(body, headers=headers)

    def export(self, request, fmt, filters):
        require_session_action(request, "audit.export", "Your role does not allow exporting the audit log.")
        upto = services.audit_export_record(workspace=request.workspace, actor=actor_of(request), fmt=fmt,
                                            filters=filters.as_details())
        rows = selectors.audit_event_rows(workspace=request.workspace, filters=filters, upto_id=upto)
        return exports.streaming_export(rows, fmt=fmt, name=f"audit-{request.workspace.slug}")
