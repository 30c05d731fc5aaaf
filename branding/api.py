"""GET/PUT /api/v1/branding and the custom domains API: thin views over branding's services.

A key needs the `admin` scope, a dashboard session `branding.manage` in the role matrix
(apikeys.permissions.ScopePermission). Another workspace's domain is a 404.
"""

import base64
import binascii
import re

from drf_spectacular.utils import OpenApiResponse, extend_schema
from rest_framework import serializers
from rest_framework.response import Response
from rest_framework.views import APIView

from apikeys.permissions import ScopePermission, actor_of
from branding import colors, domains, selectors, services
from branding.assets import asset_urls
from branding.errors import DomainVerificationFailed, ImageRefused
from core.errors import NotFound
from core.openapi import problems
from tenants.models import Domain, Workspace
from tenants.selectors import domain_get, domain_list, workspace_has_feature
from tenants.services import domain_remove

_DATA_URL = re.compile(r"^data:image/[a-z0-9.+-]+;base64,", re.IGNORECASE)
_PK_MAX = 2**63 - 1


class BrandingOutput(serializers.Serializer):
    company_name = serializers.CharField()
    primary_color = serializers.CharField(help_text="#rrggbb, or empty for the default")
    secondary_color = serializers.CharField()
    accent_color = serializers.CharField()
    welcome_message = serializers.CharField()
    footer_text = serializers.CharField()
    custom_css = serializers.CharField(help_text="As kept: re-serialised after the allowlist check")
    version = serializers.IntegerField()
    stylesheet_url = serializers.CharField()
    logo_url = serializers.CharField(allow_null=True)
    favicon_url = serializers.CharField(allow_null=True)
    custom_css_allowed = serializers.BooleanField(help_text="the plan's custom_branding feature")
    custom_domain_allowed = serializers.BooleanField(help_text="the plan's custom_domain feature")
    warnings = serializers.ListField(child=serializers.DictField(), help_text=(
        "Colours whose text contrast is below WCAG AA (4.5:1): field, ratio, message. Saved anyway."))


class BrandingInput(serializers.Serializer):
    company_name = serializers.CharField(allow_blank=True, required=False, default="", trim_whitespace=False)
    primary_color = serializers.CharField(allow_blank=True, required=False, default="")
    secondary_color = serializers.CharField(allow_blank=True, required=False, default="")
    accent_color = serializers.CharField(allow_blank=True, required=False, default="")
    welcome_message = serializers.CharField(allow_blank=True, required=False, default="", trim_whitespace=False)
    footer_text = serializers.CharField(allow_blank=True, required=False, default="", trim_whitespace=False)
    custom_css = serializers.CharField(allow_blank=True, required=False, default="", trim_whitespace=False)
    logo = serializers.CharField(allow_null=True, required=False, help_text=(
        "PNG, JPEG or WebP, at most 1 MB, base64 (or a data: URL). Absent: kept; null: removed."))
    favicon = serializers.CharField(allow_null=True, required=False, help_text="As logo.")


def _decode(value: str | None, field: str) -> bytes | None:
    if value is None:
        return None
    text = _DATA_URL.sub("", value.strip(), count=1)
    if len(text) > (images_limit := 1_048_576 * 4 // 3 + 8):
        raise ImageRefused(f"The {field} is larger than 1 MB ({len(text) * 3 // 4:,} bytes given).", field=field)
    try:
        return base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError) as exc:
        raise ImageRefused(f"The {field} is not valid base64 (max {images_limit:,} characters).", field=field) from exc


def branding_body(workspace: Workspace, warnings: list[dict] | None = None) -> dict:
    row = selectors.branding_get(workspace=workspace)
    return {
        "company_name": row.company_name, "primary_color": row.primary_color,
        "secondary_color": row.secondary_color, "accent_color": row.accent_color,
        "welcome_message": row.welcome_message, "footer_text": row.footer_text, "custom_css": row.custom_css,
        "version": row.version, **asset_urls(services.brand_summary(row)),
        "custom_css_allowed": workspace_has_feature(workspace=workspace, feature="custom_branding"),
        "custom_domain_allowed": workspace_has_feature(workspace=workspace, feature="custom_domain"),
        "warnings": warnings if warnings is not None else colors.warnings(
            primary=row.primary_color, secondary=row.secondary_color, accent=row.accent_color),
    }


class BrandingApi(APIView):
    """The workspace's branding. PUT replaces every text field and colour (an absent one is
    emptied: the default); images are kept unless given (base64) or null (removed). Custom
    CSS needs the plan's custom_branding feature and passes an allowlist (refusals name the
    line and column). Low contrast is saved and reported in `warnings`."""

    permission_classes = [ScopePermission]
    required_scope = "admin"
    session_action = "branding.manage"

    @extend_schema(responses=BrandingOutput)
    def get(self, request):
        return Response(branding_body(request.workspace))

    @extend_schema(request=BrandingInput, responses={
        200: BrandingOutput,
        400: OpenApiResponse(description="invalid_input, css_refused (with line, column) or image_refused"),
        403: OpenApiResponse(description="plan_upgrade_required: custom CSS outside the plan")})
    def put(self, request):
        data = BrandingInput(data=request.data)
        data.is_valid(raise_exception=True)
        values = dict(data.validated_data)
        images: dict[str, bytes | None] = {
            name: _decode(values.pop(name), name) for name in ("logo", "favicon") if name in values}
        result = services.branding_update(workspace=request.workspace, actor=actor_of(request),
                                          **values, **images)  # type: ignore[arg-type]  # keys checked by BrandingInput
        return Response(branding_body(request.workspace, result.warnings))


class DomainOutput(serializers.Serializer):
    class TxtRecord(serializers.Serializer):
        type = serializers.CharField()
        name = serializers.CharField()
        value = serializers.CharField()

    id = serializers.IntegerField()
    domain = serializers.CharField()
    verified = serializers.BooleanField()
    verified_at = serializers.DateTimeField(allow_null=True)
    txt_record = TxtRecord(help_text="the DNS record that proves the domain is yours")
    last_checked_at = serializers.DateTimeField(allow_null=True)
    last_check_error = serializers.CharField()
    check_failures = serializers.IntegerField()


class DomainInput(serializers.Serializer):
    domain = serializers.CharField(max_length=300)


def domain_body(domain: Domain) -> dict:
    return {
        "id": domain.pk, "domain": domain.domain, "verified": domain.verified_at is not None,
        "verified_at": domain.verified_at.isoformat() if domain.verified_at else None,
        "txt_record": {"type": "TXT", "name": domains.record_name(domain), "value": domains.record_value(domain)},
        "last_checked_at": domain.last_checked_at.isoformat() if domain.last_checked_at else None,
        "last_check_error": domain.last_check_error, "check_failures": domain.check_failures,
    }


def domain_or_404(workspace: Workspace, domain_id: int) -> Domain:
    domain = domain_get(workspace=workspace, pk=domain_id) if 0 < domain_id <= _PK_MAX else None
    if domain is None:
        raise NotFound("No such domain in this workspace.")
    return domain


class DomainListApi(APIView):
    """The workspace's custom domains; POST adds one (the plan's custom_domain feature), unverified
    until its TXT record is found (POST .../verify)."""

    permission_classes = [ScopePermission]
    required_scope = "admin"
    session_action = "branding.manage"

    @extend_schema(responses=DomainOutput(many=True))
    def get(self, request):
        return Response([domain_body(d) for d in domain_list(workspace=request.workspace)])

    @extend_schema(request=DomainInput, responses={201: DomainOutput})
    def post(self, request):
        data = DomainInput(data=request.data)
        data.is_valid(raise_exception=True)
        row = domains.custom_domain_add(workspace=request.workspace, domain=data.validated_data["domain"],
                                        actor=actor_of(request))
        return Response(domain_body(row), status=201)


class DomainDetailApi(APIView):
    permission_classes = [ScopePermission]
    required_scope = "admin"
    session_action = "branding.manage"

    @extend_schema(responses=DomainOutput)
    def get(self, request, domain_id: int):
        return Response(domain_body(domain_or_404(request.workspace, domain_id)))

    @extend_schema(responses={204: None})
    def delete(self, request, domain_id: int):
        domain_remove(domain=domain_or_404(request.workspace, domain_id), actor=actor_of(request))
        return Response(status=204)


class DomainVerifyApi(APIView):
    """Look the domain's TXT record up now: 200 with the domain when it holds the token, a
    422 problem saying what DNS answered otherwise."""

    permission_classes = [ScopePermission]
    required_scope = "admin"
    session_action = "branding.manage"

    @extend_schema(request=None, responses={200: DomainOutput})
    @problems(DomainVerificationFailed)
    def post(self, request, domain_id: int):
        domain = domain_or_404(request.workspace, domain_id)
        check = domains.custom_domain_verify(domain=domain, actor=actor_of(request))
        if not check.ok:
            raise DomainVerificationFailed(check.error, domain=domain_body(domain))
        return Response(domain_body(domain))
