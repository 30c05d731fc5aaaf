"""The branding page (/branding/), the workspace's theme and images, and Caddy's TLS `ask`.

The theme and images are public on the workspace's hosts (the login page shows them) and
immutable for a version: their URLs carry it (branding.assets.asset_urls).
"""

from django.contrib import messages
from django.http import Http404, HttpResponse
from django.shortcuts import redirect, render
from django.views.decorators.http import require_GET, require_POST

from accounts.decorators import member_required
from branding import colors, domains, selectors, services, stylesheet
from branding.api import domain_or_404
from branding.assets import asset_urls
from branding.forms import BrandingForm, DomainForm
from core.errors import DomainError, NotFound
from tenants.selectors import domain_list, normalize_host, workspace_for_host, workspace_has_feature
from tenants.services import domain_remove

YEAR = 365 * 24 * 3600


def _field_error(form, exc: DomainError) -> None:
    field = exc.extra.get("field")
    form.add_error(field if field in form.fields else None, exc.detail)


def _page(request, form, domain_form, status=200, warnings=None):
    workspace = request.tenant
    row = selectors.branding_get(workspace=workspace)
    context = {
        "form": form, "domain_form": domain_form, "branding": row, **asset_urls(services.brand_summary(row)),
        "custom_css_allowed": workspace_has_feature(workspace=workspace, feature="custom_branding"),
        "custom_domain_allowed": workspace_has_feature(workspace=workspace, feature="custom_domain"),
        "domains": [(d, domains.record_name(d), domains.record_value(d)) for d in domain_list(workspace=workspace)],
        "warnings": warnings if warnings is not None else colors.warnings(
            primary=row.primary_color, secondary=row.secondary_color, accent=row.accent_color),
    }
    return render(request, "branding/branding.html", context, status=status)


@member_required("branding.manage")
def branding_page(request):
    workspace = request.tenant
    allowed = workspace_has_feature(workspace=workspace, feature="custom_branding")
    initial = _initial(workspace)
    if request.method != "POST":
        return _page(request, BrandingForm(initial=initial, custom_css_allowed=allowed), DomainForm())
    form = BrandingForm(request.POST, request.FILES, initial=initial, custom_css_allowed=allowed)
    if form.is_valid():
        data = form.cleaned_data
        try:
            result = services.branding_update(
                workspace=workspace, actor=request.user,
                **{name: data.get(name) or "" for name in initial},
                logo=None if data["remove_logo"] else (form.image("logo") or services.KEEP),
                favicon=None if data["remove_favicon"] else (form.image("favicon") or services.KEEP),
            )
        except DomainError as exc:
            _field_error(form, exc)
        else:
            if result.changed:
                messages.success(request, "Branding saved. Every page of the workspace shows it now.")
            else:
                messages.info(request, "Nothing changed.")
            for warning in result.warnings:
                messages.warning(request, warning["message"])
            return redirect("branding")
    return _page(request, form, DomainForm(), status=400)


@member_required("branding.manage")
@require_POST
def domain_add(request):
    form = DomainForm(request.POST)
    if form.is_valid():
        try:
            row = domains.custom_domain_add(workspace=request.tenant, domain=form.cleaned_data["domain"],
                                            actor=request.user)
        except DomainError as exc:
            _field_error(form, exc)
        else:
            messages.success(request, f"{row.domain} added. Create its TXT record, then press Verify.")
            return redirect("/branding/#domains")
    workspace = request.tenant
    allowed = workspace_has_feature(workspace=workspace, feature="custom_branding")
    return _page(request, BrandingForm(custom_css_allowed=allowed, initial=_initial(workspace)), form, status=400)


def _initial(workspace) -> dict:
    row = selectors.branding_get(workspace=workspace)
    return {name: getattr(row, name) for name in (
        "company_name", "primary_color", "secondary_color", "accent_color", "welcome_message", "footer_text",
        "custom_css")}


def _domain(request, domain_id: int):
    try:
        return domain_or_404(request.tenant, domain_id)
    except NotFound as exc:
        raise Http404 from exc


@member_required("branding.manage")
@require_POST
def domain_verify(request, domain_id: int):
    domain = _domain(request, domain_id)
    check = domains.custom_domain_verify(domain=domain, actor=request.user)
    if check.ok:
        messages.success(request, f"{domain.domain} is verified: the dashboard answers there now.")
    else:
        messages.error(request, f"{domain.domain} is not verified. {check.error}")
    return redirect("/branding/#domains")


@member_required("branding.manage")
@require_POST
def domain_delete(request, domain_id: int):
    domain = _domain(request, domain_id)
    domain_remove(domain=domain, actor=request.user)
    messages.success(request, f"{domain.domain} removed: it no longer serves this workspace.")
    return redirect("/branding/#domains")


def _immutable(request, response: HttpResponse, version: int) -> HttpResponse:
    if request.GET.get("v") == str(version):
        response["Cache-Control"] = f"public, max-age={YEAR}, immutable"
    else:
        response["Cache-Control"] = "no-cache"
    return response


def _workspace_or_404(request):
    tenant = getattr(request, "tenant", None)
    if tenant is None or tenant.is_public:
        raise Http404
    return tenant


@require_GET
def theme_css(request):
    workspace = _workspace_or_404(request)
    row = selectors.branding_get(workspace=workspace)
    body = stylesheet.theme_css(
        row, custom_css_allowed=workspace_has_feature(workspace=workspace, feature="custom_branding"))
    return _immutable(request, HttpResponse(body, content_type="text/css; charset=utf-8"), row.version)


def _image(request, name: str):
    workspace = _workspace_or_404(request)
    row = selectors.branding_get(workspace=workspace)
    data = getattr(row, name)
    if not data:
        raise Http404
    response = HttpResponse(bytes(data), content_type="image/png")
    response["X-Content-Type-Options"] = "nosniff"
    return _immutable(request, response, row.version)


@require_GET
def logo(request):
    return _image(request, "logo")


@require_GET
def favicon(request):
    return _image(request, "favicon")


@require_GET
def tls_allowed(request):
    """Caddy's on-demand TLS `ask` (deploy/Caddyfile.example): 200 when `domain` is a host
    we serve (a verified custom domain, a workspace's subdomain, the public site), 404
    otherwise, so no certificate is ever requested for a name that is not ours. Served from
    the host cache: no SQL in steady state."""
    name = normalize_host(request.GET.get("domain", "")[:300])
    if not name or workspace_for_host(name) is None:
        return HttpResponse("not served here\n", status=404, content_type="text/plain")
    return HttpResponse("ok\n", content_type="text/plain")
